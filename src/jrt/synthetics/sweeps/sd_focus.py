"""A focused set-disjointness sweep that fits a few GPU minutes (paper Figure 2, claims i and ii).

Why this setting. The paper's mixture (vocabulary 2048, sets up to 256 x 768 tokens) did not train
in 30 s per run: even attention stayed at chance. Here the task is the same (`[1] A [2] B [3]` ->
the one token A and B share, one label per example) at a scale that models learn within a few
thousand steps: vocabulary 128 (124 set tokens), six train shapes, each in both orders,

    (|A|, |B|) = (4, 16) (16, 4) (8, 32) (32, 8) (4, 48) (48, 4)

and test slices of the same six shapes (fresh examples). Slice keys are `A{|A|}_B{|B|}` and each
slice's meta has `order` = short_first | long_first, so every result gives accuracy per order.
The recurrent models first sit on a "guess a token of the shorter set" plateau (1/4 on the
|A| or |B| = 4 slices; chance is 1/124), so runs get 2,500 steps at batch 128 with a cosine schedule
that finishes within the default `max_seconds`. Whether they leave it there is what the sweep measures; if they do not, raise
`max_seconds`/`steps` or drop the 48-token shapes (`--set shapes=...`).

Note: the paper's non-causal model in Figure 2 is fully non-causal Based (non-causal linear
attention and circular convolutions); here "non-causal" is JRT-RNN (causal convolutions, prefix
linear attention with `[1] A [2] B` as the prefix, the answer position [3] outside it).

Models (4 layers, conv / mixer alternating, 2 heads, no MLP, d_model 64):
  - attention (2 Llama layers: the ceiling; its KV cache grows with the input),
  - causal Based at F = 4 and F = 16 (state 12.8 KiB / 143 KiB): claim (i), short set first should
    be easier, more so at F = 4,
  - Based + JRT-Prompt x2 (the context `[1] A [2] B` read twice) at F = 4 and 16,
  - JRT-RNN (prefix linear attention, `[1] A [2] B` as the non-causal prefix) at F = 4 and 16:
    claim (ii), better and insensitive to the order.
Two seeds (data and init), seed 0 first, so a time-limited run still covers every model.

`max_steps` is set near the number of steps a run gets in `max_seconds` when several sweep
processes share one GPU (the cosine schedule then actually decays; `max_seconds` is only the guard).
The probes and timings behind these defaults: docs/RESULTS.md, "Run history".

    for i in 0 1 2 3 4 5 6; do     # 14 runs, 7 processes: 2 runs each
      jrt synth --sweep src/jrt/synthetics/sweeps/sd_focus.py --out DIR --shard $i/7 &
    done; wait; jrt synth --plot DIR
"""
from __future__ import annotations

from jrt.synthetics.data import SDSegment, SetDisjointnessTask, Variant
from jrt.synthetics.model_factory import ModelSpec
from jrt.synthetics.runner import RunConfig, TrainConfig

VOCAB = 128
SHAPES = ((4, 16), (16, 4), (8, 32), (32, 8), (4, 48), (48, 4))  # (|A|, |B|), both orders
D_MODEL = 64
FEATURE_DIMS = (4, 16)


def task(vocab: int = VOCAB, shapes=SHAPES, train_per_segment: int = 25_000,
         test_per_segment: int = 500) -> SetDisjointnessTask:
    shapes = tuple(tuple(s) for s in shapes)
    return SetDisjointnessTask(vocab, train=tuple(SDSegment(a, b, train_per_segment) for a, b in shapes),
                               test=tuple(SDSegment(a, b, test_per_segment) for a, b in shapes))


MODELS = (  # (tag, kind, variant, uses the feature dim)
    ("based", "based", Variant(), True),
    ("based-jrt-prompt", "based", Variant(num_passes=2), True),
    ("jrt-rnn", "jrt", Variant(prefix=True), True),
)


def runs(max_seconds: float = 200.0, steps: int = 2500, lr: float = 3e-3, batch_size: int = 128,
         seeds=(0, 1), d_model: int = D_MODEL, feature_dims=FEATURE_DIMS, vocab: int = VOCAB,
         shapes=SHAPES, train_per_segment: int = 25_000, test_per_segment: int = 500,
         eval_every: int = 250) -> list[RunConfig]:
    """14 runs by default (7 models x 2 seeds), seed 0 first; names `sd-focus-<model>-d<d>-F<f>-s<seed>`."""
    t = task(vocab, shapes, train_per_segment, test_per_segment)
    out = []
    for seed in (seeds if isinstance(seeds, (tuple, list)) else (seeds,)):
        tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, eval_every=eval_every,
                         eval_batch_size=512, seed=seed, max_seconds=max_seconds)

        def run(tag, kind, variant, f, seed=seed, tc=tc):
            spec = ModelSpec(kind, d_model=d_model, feature_dim=f, num_heads=2, use_mlp=False)
            ftag = f"-F{f}" if kind != "attention" else ""
            return RunConfig(f"sd-focus-{tag}-d{d_model}{ftag}-s{seed}", t, spec, variant, tc, data_seed=seed,
                             group="sd-focus")

        out.append(run("attention", "attention", Variant(), feature_dims[0]))
        for f in feature_dims:
            for tag, kind, variant, _ in MODELS:
                out.append(run(tag, kind, variant, f))
    return out
