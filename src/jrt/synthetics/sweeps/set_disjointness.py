"""Set disjointness sweep (paper Figure 2) for one GPU, trimmed to fit a few minutes.

Paper grid: d_model {36, 48, 64, 96, 128} x feature_dim {4, 8, 16, 24} x lr {1e-4, 5e-4, 8e-4} x 2
seeds, causal vs non-causal Based, 4 layers (conv/based alternating), 2 heads, no MLP, 48 epochs of
12 x 20k examples. Here: the same (|A|, |B|) train/test mixtures (half the examples per segment),
a fixed step and time budget per run, lr {3e-3, 1e-3} (few steps need a larger lr; 1e-2 diverges
on CPU probes), and the grid visited in an order that spreads state sizes first: causal Based and
JRT-RNN at every (d_model, feature_dim) point; Based + JRT-Prompt, Mamba2 (+ JRT-Prompt) and GLA at
every 4th point, attention at d_model 36/64/128. All seed-0 / first-lr runs come before any
seed-1 or second-lr run, so a time-limited run still covers every model and the whole state axis.
Runs left over when the budget ends are listed as skipped in sweep_meta_*.json.
"""
from __future__ import annotations

from jrt.synthetics.data import PAPER_SD_TEST, PAPER_SD_TRAIN, SetDisjointnessTask, Variant, scale_segments
from jrt.synthetics.model_factory import ModelSpec, fla_available
from jrt.synthetics.runner import RunConfig, TrainConfig

D_MODELS = (36, 48, 64, 96, 128)
FEATURE_DIMS = (4, 8, 16, 24)
# (d_model, feature_dim) visiting order: spread over the state axis first
POINT_ORDER = [(36, 4), (128, 24), (64, 8), (96, 16), (48, 4), (128, 8), (36, 16), (64, 24), (96, 4),
               (48, 16), (128, 4), (64, 16), (36, 8), (96, 24), (48, 8), (128, 16), (64, 4), (36, 24),
               (96, 8), (48, 24)]
assert sorted(POINT_ORDER) == sorted((d, f) for d in D_MODELS for f in FEATURE_DIMS)


def task(train_fraction: float = 0.5, test_fraction: float = 0.5) -> SetDisjointnessTask:
    return SetDisjointnessTask(2048, train=scale_segments(PAPER_SD_TRAIN, train_fraction),
                               test=scale_segments(PAPER_SD_TEST, test_fraction))


def runs(lrs=(3e-3, 1e-3), seeds=(0, 1), steps: int = 3000, batch_size: int = 256, max_seconds: float = 30.0,
         train_fraction: float = 0.5, include_gla=None) -> list[RunConfig]:
    t = task(train_fraction)
    core = [("based", Variant()), ("jrt", Variant(prefix=True))]
    extra = [("based", Variant(num_passes=2)), ("mamba2", Variant()), ("mamba2", Variant(num_passes=2))]
    if include_gla if include_gla is not None else fla_available():
        extra += [("gla", Variant()), ("gla", Variant(num_passes=2))]
    out = []  # (priority, cfg)

    def add(priority, kind, variant, d, f, lr, seed):
        spec = ModelSpec(kind, d_model=d, feature_dim=f, num_heads=2, use_mlp=False)
        tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, eval_every=250, eval_batch_size=256,
                         seed=seed, max_seconds=max_seconds)
        probe = RunConfig("", t, spec, variant, tc)
        name = f"sd-{probe.label}-d{d}-F{f}-lr{lr:g}-s{seed}".replace(" ", "")
        out.append((priority, len(out), RunConfig(name, t, spec, variant, tc, data_seed=seed)))

    for i, (d, f) in enumerate(POINT_ORDER):
        for s_rank, seed in enumerate(seeds):
            for l_rank, lr in enumerate(lrs):
                tier = s_rank + l_rank  # seed 0 / first lr first
                for kind, variant in core:
                    add((tier, i), kind, variant, d, f, lr, seed)
                if i % 4 == 0:  # every 4th point: the other recurrent models
                    for kind, variant in extra:
                        add((tier, i + 0.5), kind, variant, d, f, lr, seed)
    for j, d in enumerate((36, 64, 128)):  # attention: state set by d and the sequence length only
        for s_rank, seed in enumerate(seeds):
            for l_rank, lr in enumerate(lrs):
                add((s_rank + l_rank, 4 * j + 0.7), "attention", Variant(), d, 16, lr, seed)
    out.sort(key=lambda x: (x[0], x[1]))
    return [cfg for *_, cfg in out]
