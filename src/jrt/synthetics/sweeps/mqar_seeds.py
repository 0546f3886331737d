"""Seeds of the focused MQAR setting (`mqar_focus.py`) with a schedule that fits the run length.

Why. JRT-RNN and Based + JRT-Prompt take off from the MQAR plateau at a phase transition whose
timing depends on the initialisation seed, and a run whose learning-rate schedule is planned for
far more steps than it gets (warm-up as a fraction of max_steps, max_seconds as the real stop)
never decays its learning rate. So this sweep runs several init seeds per point, with `steps` set to
what a run actually gets, so that warm-up (2%) and cosine decay both happen.

The plateau is the accuracy of guessing among the N values of the context (1/N: 0.125 at 8
pairs, 0.0625 at 16; train loss near ln N). JRT-RNN's non-causal prefix gives every query the bag of
values directly, so it reaches the plateau fastest; leaving it is what is measured.

Setting: exactly `mqar_focus.task()` (vocab 256, T 256, 8 and 16 kv pairs, the same data, data
seed 0) and model shapes (d_model 64, 4 layers conv / mixer, 2 heads, no MLP), lr 3e-3, batch 128;
`steps` (default 2,500: warm-up 50 steps, cosine over 2,500) with `max_seconds` (default 200) only as
a guard. Give `steps` and `max_seconds` together: a run that stops on `max_seconds` first never
finishes its schedule, and the runner says so. Init / batch-order seeds vary (`seeds`).
The runs behind these defaults, and their results: docs/RESULTS.md, "Run history" and section 1.

    for i in 0 1 2 3 4 5 6; do     # 14 runs, 7 processes: 2 runs each
      jrt synth --sweep src/jrt/synthetics/sweeps/mqar_seeds.py --out DIR --shard $i/7 &
    done; wait; jrt synth --plot DIR
"""
from __future__ import annotations

from jrt.synthetics.data import Variant
from jrt.synthetics.model_factory import ModelSpec
from jrt.synthetics.runner import RunConfig, TrainConfig
from jrt.synthetics.sweeps.mqar_focus import D_MODEL, task


def runs_jrt_seeds(max_seconds: float = 200.0, steps: int = 2500, lr: float = 3e-3, batch_size: int = 128,
                   seeds=(0, 1), feature_dims=(2, 4, 8), control_feature_dims=(4,), warmup_frac: float = 0.02,
                   use_mlp: bool = False, eval_every: int = 250) -> list[RunConfig]:
    """JRT-RNN and Based + JRT-Prompt x2 at F in `feature_dims` x `seeds`, plus causal Based at
    `control_feature_dims` (the single-pass control). Seed-major order: every model at seed 0 first.
    Default: 2 x (3 + 3 + 1) = 14 runs, names `mqseeds-<model>-F<f>-s<seed>`."""
    t = task()
    seeds = seeds if isinstance(seeds, (tuple, list)) else (seeds,)
    out = []
    for seed in seeds:
        tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, warmup_frac=warmup_frac,
                         eval_every=eval_every, eval_batch_size=256, seed=seed, max_seconds=max_seconds)

        def run(kind, f, variant, tag, seed=seed, tc=tc):
            spec = ModelSpec(kind, d_model=D_MODEL, feature_dim=f, num_heads=2, use_mlp=use_mlp)
            mlp = "-mlp" if use_mlp else ""
            return RunConfig(f"mqseeds-{tag}{mlp}-F{f}-s{seed}", t, spec, variant, tc, data_seed=0,
                             group="mqar-seeds")

        for f in feature_dims:
            out += [run("jrt", f, Variant(prefix=True), "jrt-rnn"),
                    run("based", f, Variant(num_passes=2), "based-jrt-prompt")]
        out += [run("based", f, Variant(), "based") for f in control_feature_dims]
    return out


def runs(**kwargs) -> list[RunConfig]:
    """`jrt synth --sweep` entry point: the same list as `runs_jrt_seeds` (`--set` keys pass through)."""
    return runs_jrt_seeds(**kwargs)
