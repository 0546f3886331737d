"""Training on real text: tokenized corpora, the JRT objective (prefix MLM + suffix NTP), a
torch.distributed trainer with crash-safe checkpoints. See docs/TRAINING.md.

    jrt.train.data          prepare_data, TokenSplit, PackedSequences (`jrt prepare-data`)
    jrt.train.recall_format recall-format examples built like the SWDE/FDA evaluation prompts
    jrt.train.objective     compute_loss (ntp | jrt), mlm_mask_for_samples
    jrt.train.models        build_model (JRT/Based presets, same-size HF Llama / Mamba2)
    jrt.train.checkpoint    atomic, verified checkpoints
    jrt.train.trainer       TrainConfig, train (`jrt train`, torchrun DDP / FSDP2)

Submodules are imported on use (no torch import at `import jrt.train`).
"""
