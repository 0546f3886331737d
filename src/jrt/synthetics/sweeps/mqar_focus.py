"""A focused MQAR sweep that fits a few GPU minutes: the demo's setting scaled up along the state axis.

MQAR with vocabulary 256, sequence length 256, 8 and 16 key-value pairs, random filler in the query
region (as the demo); 4 layers (conv / mixer), 2 heads, d_model 64, no MLP. The state axis is the
feature dim F in {2, 4, 8} (Based / JRT-RNN state 1+F+F^2 features per head). Models: causal Based,
Based + JRT-Prompt (kv part twice), JRT-RNN (kv part as the non-causal prefix), attention as the
ceiling, Mamba2 (+ JRT-Prompt) at the F = 4 state. Every run trains for at most `max_seconds`;
run all of them at once (`--shard i/N` in N processes: the models are far too small to fill a GPU).

    jrt synth --sweep src/jrt/synthetics/sweeps/mqar_focus.py --out DIR --shard I/N
"""
from __future__ import annotations

from jrt.synthetics.data import MQARSegment, MQARTask, Variant
from jrt.synthetics.model_factory import ModelSpec
from jrt.synthetics.runner import RunConfig, TrainConfig

VOCAB, SEQ_LEN, KV_PAIRS, D_MODEL = 256, 256, (8, 16), 64


def task(train_per_segment: int = 50_000, test_per_segment: int = 1_000) -> MQARTask:
    return MQARTask(VOCAB, train=tuple(MQARSegment(SEQ_LEN, n, train_per_segment) for n in KV_PAIRS),
                    test=tuple(MQARSegment(SEQ_LEN, n, test_per_segment) for n in KV_PAIRS))


def runs(max_seconds: float = 120.0, lr: float = 3e-3, batch_size: int = 128, steps: int = 2_500,
         seed: int = 0) -> list[RunConfig]:
    t = task()
    tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, eval_every=250, eval_batch_size=256,
                     seed=seed, max_seconds=max_seconds)

    def run(kind, f, variant, tag):
        spec = ModelSpec(kind, d_model=D_MODEL, feature_dim=f, num_heads=2, use_mlp=False)
        return RunConfig(f"focus-{tag}-F{f}", t, spec, variant, tc, data_seed=seed, group="focus")

    out = [run("attention", 4, Variant(), "attention")]
    for f in (2, 4, 8):
        out += [run("based", f, Variant(), "based"), run("based", f, Variant(num_passes=2), "based-jrt-prompt"),
                run("jrt", f, Variant(prefix=True), "jrt-rnn")]
    out += [run("mamba2", 4, Variant(), "mamba2"), run("mamba2", 4, Variant(num_passes=2), "mamba2-jrt-prompt")]
    return out
