"""Autotune configs of the chunked kernels, chosen per GPU architecture, and the choice of kernel.

Each kernel family ("fwd": the full forward of based_chunk, also its state-only launches; "bwd":
the two backward walks; "sym": the symmetric forward of based_sym) has a generic config set and,
for architectures where a sweep was measured, the winners of that sweep. An architecture's set is
what the autotuner picks from, so a call with no environment variables runs the measured best
config there instead of whatever the generic set's best happens to be (on sm_90 the generic forward
set lacks the 4-warp transposed read-out that won the sweep: 12.45 ms vs 9.37 ms on an H200 at
B=16, T=32768).

Precedence: an explicit override (`override()`, used by benchmarks/tune_kernels.py) > the
environment (JRT_TRITON_FWD_CONFIGS / _BWD_ / _SYM_ JSON lists) > the architecture's set > the
generic set. JRT_TRITON_AUTOTUNE=full appends a wide sweep, =first keeps the first config only.

A config is (meta dict, num_warps, num_stages).
"""
from __future__ import annotations

import itertools
import json

import torch

from jrt import env

KINDS = ("fwd", "bwd", "sym")

# Generic sets: configs without spills in the offline sm_90 compile (docs/KERNEL_NOTES.md) plus the
# shapes that won on the H100; the autotuner times them all on first use of each key.
GENERIC = {
    "fwd": [
        ({"BT": 16, "BD": 64}, 8, 2),
        ({"BT": 64, "BD": 32}, 8, 2),
        ({"BT": 32, "BD": 32}, 8, 2),
        ({"BT": 32, "BD": 16}, 4, 2),
        ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 8, 2),
        ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1),
    ],
    "bwd": [({"BT": 16}, 8, 2), ({"BT": 32}, 8, 2), ({"BT": 16}, 4, 2)],
    "sym": [
        ({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1),
        ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1),
        ({"BT": 32, "BD": 64, "STATE_T": True}, 8, 1),
        ({"BT": 16, "BD": 32, "TRANS_OUT": True}, 4, 1),
        ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 8, 1),
    ],
}

# Per compute capability: the measured winners, fastest first (results/benchmarks/tune.json and
# results/benchmarks/kernel_session/sym_configs.json, H100 SXM at B=16, T=32768, H=16, F=16, D=64,
# bf16; the H200 is the same sm_90 and the same config won there).
ARCH = {
    (9, 0): {
        "fwd": [
            ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1),   # Based 9.12 ms, PLA 12.05 ms (H100)
            ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 2),   # 9.67 / 11.64
            ({"BT": 64, "BD": 32}, 4, 2),                      # 9.74 / 11.65
        ],
        "bwd": [({"BT": 16}, 4, 2), ({"BT": 16}, 4, 1)],       # PLA fwd+bwd T=8192: 17.98 / 18.30 ms
        "sym": [
            ({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1),     # 7.87 ms (production 9.08)
            ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1),   # 9.40 ms
        ],
    },
}

_ENV = {"fwd": "JRT_TRITON_FWD_CONFIGS", "bwd": "JRT_TRITON_BWD_CONFIGS", "sym": "JRT_TRITON_SYM_CONFIGS"}
# the meta keys each family's kernels take (anything else would reach Triton as an unknown argument
# on a GPU, and be silently dropped by the interpreter)
META_KEYS = {"fwd": {"BT", "BD", "TRANS_OUT"}, "bwd": {"BT", "BD"}, "sym": {"BT", "BD", "TRANS_OUT", "STATE_T"}}
_OVERRIDES: dict[str, list] = {}
_VERSION = [0]  # bumped by override(): cached autotuned kernels are rebuilt


def _full_sweep(kind: str) -> list:
    if kind == "fwd":
        return [({"BT": bt, "BD": bd}, w, st)
                for bt, bd, w, st in itertools.product((16, 32, 64), (16, 32, 64), (4, 8, 16), (1, 2, 3))]
    if kind == "bwd":
        return [({"BT": bt}, w, st) for bt, w, st in itertools.product((16, 32, 64), (4, 8, 16), (1, 2, 3))]
    return [({"BT": bt, "BD": bd, flag: True}, w, 1)
            for bt, bd, w, flag in itertools.product((16, 32), (32, 64), (4, 8), ("TRANS_OUT", "STATE_T"))]


def capability(device: torch.device | None) -> tuple[int, int] | None:
    """(major, minor) of a CUDA device, None for anything else (CPU tensors under the interpreter)."""
    if device is None or device.type != "cuda":
        return None
    return tuple(torch.cuda.get_device_capability(device))


def select(kind: str, cap: tuple[int, int] | None) -> list:
    """The autotune set of one kernel family on an architecture (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kernel family {kind!r} (known: {KINDS})")
    if kind in _OVERRIDES:
        return list(_OVERRIDES[kind])
    raw = env.get(_ENV[kind])
    if raw:
        return _checked(kind, [tuple(c) for c in json.loads(raw)], _ENV[kind])
    base = list(ARCH.get(cap, GENERIC)[kind]) if cap is not None else list(GENERIC[kind])
    mode = env.get("JRT_TRITON_AUTOTUNE")
    if mode == "first":
        return base[:1]
    if mode == "full":
        return base + [c for c in _full_sweep(kind) if c not in base]
    return base


def _checked(kind: str, configs: list, source: str) -> list:
    """configs, after checking each is (meta dict, num_warps, num_stages) with meta keys the family takes."""
    for config in configs:
        if len(config) != 3 or not isinstance(config[0], dict):
            raise ValueError(f"{source}: each config is [meta dict, num_warps, num_stages], got {list(config)}")
        unknown = set(config[0]) - META_KEYS[kind]
        if unknown:
            raise ValueError(f"{source}: the {kind!r} kernels take no {sorted(unknown)} "
                             f"(their configs may name {sorted(META_KEYS[kind])})")
    return configs


def backward_value_block(cap: tuple[int, int] | None, default: int) -> int:
    """The backward kernels' value block BD: a "BD" in the backward set's configs, else ``default``.

    BD fixes the grid and the partial-gradient buffers before the launch, so the autotuner cannot
    vary it: every config of the set must name the same BD (or none), and the launchers strip it
    from what the autotuner sees."""
    blocks = {meta.get("BD") for meta, _, _ in select("bwd", cap)}
    if len(blocks) > 1:
        raise ValueError(f"the backward configs name different value blocks {sorted(blocks, key=str)}: "
                         "BD is fixed per set (time each BD as its own set, e.g. with override())")
    (block,) = blocks
    return default if block is None else int(block)


def override(kind: str, configs: list | None) -> None:
    """Replaces (configs) or restores (None) one family's set for this process: tuning sweeps."""
    if kind not in KINDS:
        raise ValueError(f"unknown kernel family {kind!r} (known: {KINDS})")
    if configs is None:
        _OVERRIDES.pop(kind, None)
    else:
        _OVERRIDES[kind] = _checked(kind, [tuple(c) for c in configs], f"override({kind!r})")
    _VERSION[0] += 1


def version() -> int:
    return _VERSION[0]


# ---- the choice of kernel and schedule (jrt.ops.triton.based_chunk.plan), for kernel=None / schedule=None
# Forward kernel of Based, PLA and JRT-Prompt: "sym" (based_sym.py: 192 quadratic state rows instead
# of 256) or "full". On an H200 at B=16, T=32768 the symmetric forward takes 13-14% less time for all
# three (Based 8.08 vs 9.29 ms) and the training step 1-2% less (results/benchmarks/h200_kernels_v2/).
DEFAULT_KERNEL = "sym"
# Chunk-parallel schedule (segments of CHUNK_PARALLEL_SEG tokens, forward and backward) for
# T <= CHUNK_PARALLEL_MAX_T; longer sequences walk (segmented only when B*H cannot fill the GPU).
# 0 turns it off by default: on the H200 it was slower than the walk at B=16 for T = 2048 and 8192
# (PLA fwd+bwd 6.87 vs 4.52 ms and 26.7 vs 17.6 ms; same files).
CHUNK_PARALLEL_MAX_T = 0
CHUNK_PARALLEL_SEG = 128     # tokens per segment; a multiple of based_chunk.SEG_UNIT (64)
