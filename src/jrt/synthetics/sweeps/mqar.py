"""MQAR sweep for one GPU: sequence lengths 256-1024, 16-128 kv pairs, d_model 64-256.

Models (same data, same order): attention (Llama, the ceiling), causal Based, Based + JRT-Prompt
(kv pairs read twice), JRT-RNN (kv pairs as the non-causal prefix), Mamba2, Mamba2 + JRT-Prompt,
GLA (+ JRT-Prompt) where flash-linear-attention imports. Feature dim 16 (and 4 for small-state
points), two heads, MLPs (Zoology's MQAR models have them). State bytes grow with d_model and the
feature dim, which together are the state axis.
"""
from __future__ import annotations

from jrt.synthetics.data import MQARSegment, MQARTask, Variant
from jrt.synthetics.model_factory import ModelSpec, fla_available
from jrt.synthetics.runner import RunConfig, TrainConfig

VOCAB = 8192


def tasks(train_per_segment: int = 20_000, test_per_segment: int = 1_000) -> dict:
    seg = lambda T, n, k: MQARSegment(T, n, k)  # noqa: E731
    return {
        "T256": (MQARTask(VOCAB, train=tuple(seg(256, n, train_per_segment) for n in (16, 32, 64)),
                          test=tuple(seg(256, n, test_per_segment) for n in (16, 32, 64))), (64, 128, 256)),
        "T1024": (MQARTask(VOCAB, train=tuple(seg(1024, n, train_per_segment // 2) for n in (64, 128)),
                           test=tuple(seg(1024, n, test_per_segment) for n in (64, 128))), (128, 256)),
    }


def model_variants(include_gla: bool | None = None) -> list[tuple[str, Variant]]:
    mv = [("attention", Variant()), ("based", Variant()), ("jrt", Variant(prefix=True)),
          ("based", Variant(num_passes=2)), ("mamba2", Variant()), ("mamba2", Variant(num_passes=2))]
    if include_gla if include_gla is not None else fla_available():
        mv += [("gla", Variant()), ("gla", Variant(num_passes=2))]
    return mv


# (task, d_model, feature_dim) visiting order: spread over lengths and state sizes first; feature dim 4
# gives the small-state points (the CPU demo finds the JRT gap at a tiny feature map)
POINT_ORDER = [("T256", 64, 16), ("T1024", 128, 16), ("T256", 64, 4), ("T256", 256, 16), ("T256", 128, 16),
               ("T1024", 256, 16), ("T1024", 128, 4)]


def runs(lrs=(2e-3, 8e-4), seeds=(0,), steps: int = 3000, batch_size: int = 256, max_seconds: float = 30.0,
         num_heads: int = 2, train_per_segment: int = 20_000, include_gla=None,
         points=tuple(POINT_ORDER)) -> list[RunConfig]:
    all_tasks = tasks(train_per_segment)
    out = []
    for lr in lrs:                       # every model and point at the first lr before any second lr
        for seed in seeds:
            for tname, d, f in points:   # spread over the state axis first
                task = all_tasks[tname][0]
                for kind, variant in model_variants(include_gla):   # every model at each point
                    if kind == "attention" and f != POINT_ORDER[0][2]:
                        continue  # attention's state does not depend on the feature dim
                    spec = ModelSpec(kind, d_model=d, feature_dim=f, num_heads=num_heads, use_mlp=True)
                    tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, eval_every=250,
                                     eval_batch_size=256, seed=seed, max_seconds=max_seconds)
                    probe = RunConfig("", task, spec, variant, tc)
                    name = f"mqar-{tname}-{probe.label}-d{d}-F{f}-lr{lr:g}-s{seed}".replace(" ", "")
                    out.append(RunConfig(name, task, spec, variant, tc, data_seed=seed, group=tname))
    return out
