"""Seeds of the focused MQAR setting (`mqar_focus.py`) with a schedule that fits the run length.

Why. In the 100 s focused sweep, JRT-RNN stayed on the plateau at every F while Based + JRT-Prompt
took off at F = 2 and 8. Two things made that sweep weak evidence:

- schedule: `mqar_focus.runs` passes `steps=100_000` with `max_seconds` as the real stop, so the
  warm-up (`warmup_frac` 0.02 of max_steps) lasted 2,000 steps: the lr reached its peak only at
  step 2,000 of ~2,600, and the cosine never decayed. The JRT-Prompt runs that took off did so at
  steps 2,100-2,400, i.e. right after the warm-up ended; the JRT-RNN runs stopped 150-650 steps later.
- one seed per point on a phase transition (JRT-Prompt at F = 4 did not take off either).

The plateau is the accuracy of guessing among the N values of the context (1/N: 0.125 at 8
pairs, 0.0625 at 16; train loss near ln N). JRT-RNN reaches it fastest (its non-causal prefix gives
every query the bag of values directly; that is also why it "wins" the CPU demo, whose 0.25 is
1/4 for 4 pairs) and then stays there longer. CPU probes (MQAR vocab 64, T 64, 4 pairs, d_model 64,
F 16, batch 64, lr 3e-3, 1,500 steps, naive ops): Based + JRT-Prompt 0.996 (took off by step 375);
causal Based 0.267, JRT-RNN 0.274 (seed 0), also with lr 1e-3 (0.254), with MLPs (0.265), with
v_enc_proj initialised to zero (0.256): all at 1/4. The same JRT-RNN model reading the context
twice with a 1-token prefix: 0.994 (took off by step 375); with the prefix covering both copies:
0.263 (seed 0) and 0.965 (seed 1, took off at step ~1,000). So the model and its plumbing work
(enc_length, answer positions outside the prefix and gradients into k_enc / v_enc were checked);
the non-causal prefix delays the take-off, by a seed-dependent number of steps. Hence several init
seeds and as many steps as the budget gives, with a schedule that fits them.

Setting: exactly `mqar_focus.task()` (vocab 256, T 256, 8 and 16 kv pairs, the same data, data
seed 0) and model shapes (d_model 64, 4 layers conv / mixer, 2 heads, no MLP), lr 3e-3, batch 128;
`steps` (default 2,500: warm-up 50 steps, cosine over 2,500) is what a run gets in the default
200 s on an H100 shared by 14 processes (2,500 steps took 134-176 s; 6,000 steps took ~382 s with 12
processes). Give `steps` and `max_seconds` together: a run that stops on `max_seconds` first never
finishes its schedule, and the runner says so. Init / batch-order seeds vary (`seeds`).

    for i in 0 1 2 3 4 5 6; do     # 14 runs, 7 processes: 2 runs each (~7 min at 200 s a run)
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
