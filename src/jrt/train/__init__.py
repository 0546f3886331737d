"""Training on real text: tokenized corpora, the JRT objective (prefix MLM + suffix NTP), a
torch.distributed trainer with crash-safe checkpoints. See docs/TRAINING.md.

    jrt.train.data            prepare_data, TokenSplit, PackedSequences (`jrt prepare-data`)
    jrt.train.counterfactual  counterfactual recall examples (copying is the only way to the answer)
    jrt.train.recall_mix      the recall split's builder, MixedSequences (recall rows in training)
    jrt.train.objective       compute_loss (ntp | jrt), mlm_mask_for_samples
    jrt.train.trainer         TrainConfig, train (`jrt train`, torchrun DDP / FSDP2), built from
                              optim, distributed, run_dir, checkpoint, evaluate, logger and probe
    jrt.train.probe           the recall probe logged during training (learning curves)

Models come from jrt.baselines (build_by_name). Submodules are imported on use (no torch import
at `import jrt.train`).
"""
