"""Training step of the sequence mixer alone: forward + backward latency.

bf16, H = 16, F = 16, D = 64, T in {2k, 4k, 8k, 16k} at B = 16 (a cell that runs out of memory
is recorded as OOM). Methods, timed in the same run (triton.testing.do_bench median, CUDA events):

  flash_attn2  flash_attn.flash_attn_func (FlashAttention-2 package), causal, head dim 64; only if
               `import flash_attn` works
  sdpa_flash   torch SDPA FLASH_ATTENTION backend (FlashAttention-2 inside torch), causal, head dim 64
  fla_based    fla fused_chunk_based (if `import fla` works)
  jrt_based    jrt Based (Triton), causal over T
  jrt_pla      jrt prefix linear attention, T causal + a T/2 prefix (k_enc, v_enc with gradients),
               the JRT-RNN training layout (prefix = first half of the sequence)
The jrt methods run once per --kernel (forward kernel: sym, full, default) and --schedule (walk:
one program walks a sequence; chunk: chunk-parallel forward and backward; default: by T), named
e.g. jrt_pla[sym,chunk]; the backward kernels are the same for both forward kernels.

The issue's targets: jrt_pla at T = 8192 at least 3x faster than fla_based and faster than the
FlashAttention-2 baseline; at T = 2048 no slower than it.
Writes train.json, train.md, train.png into --out (--formats picks which).
Usage: python benchmarks/train_step.py --out results/benchmarks [--quick] [--seq-lens 2048 8192]
       [--kernel sym full] [--schedule walk chunk] [--formats json]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from prefill import (  # noqa: E402
    D,
    F,
    H,
    _choice,
    _randn,
    baseline_name,
    environment,
    flash_attn_version,
    kernel_settings,
    time_cell,
    variant_name,
    write_outputs,
)

SEQ_LENS = [2048, 4096, 8192, 16384]
BATCH = 16


def _fwd_bwd(fn, inputs, out_shape):
    do = torch.randn(*out_shape, device="cuda", dtype=torch.bfloat16)

    def step():
        for x in inputs:
            x.grad = None
        o = fn(*inputs)
        o.backward(do)
    return step


def make_sdpa(B, T):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    inputs = [_randn(B, H, T, D).requires_grad_(True) for _ in range(3)]

    def fn(q, k, v):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    return _fwd_bwd(fn, inputs, (B, H, T, D))


def make_flash_attn2(B, T):
    from flash_attn import flash_attn_func
    inputs = [_randn(B, T, H, D).requires_grad_(True) for _ in range(3)]
    return _fwd_bwd(lambda q, k, v: flash_attn_func(q, k, v, causal=True), inputs, (B, T, H, D))


def make_fla_based(B, T):
    from fla.ops.based import fused_chunk_based
    inputs = [_randn(B, T, H, F, scale=1 / F).requires_grad_(True), _randn(B, T, H, F, scale=1 / F).requires_grad_(True),
              _randn(B, T, H, D, scale=1 / D).requires_grad_(True)]
    return _fwd_bwd(lambda q, k, v: fused_chunk_based(q, k, v), inputs, (B, T, H, D))


def make_jrt_based(kernel="default", schedule="default"):
    def make(B, T):
        from jrt.ops import based_linear_attention
        inputs = [_randn(B, T, H, F, scale=1 / F).requires_grad_(True),
                  _randn(B, T, H, F, scale=1 / F).requires_grad_(True),
                  _randn(B, T, H, D, scale=1 / D).requires_grad_(True)]
        kw = dict(backend="triton", kernel=_choice(kernel), schedule=_choice(schedule))
        return _fwd_bwd(lambda q, k, v: based_linear_attention(q, k, v, **kw)[0], inputs, (B, T, H, D))
    return make


def make_jrt_pla(kernel="default", schedule="default"):
    def make(B, T):
        from jrt.ops import prefix_linear_attention
        P = T // 2
        inputs = [_randn(B, T, H, F, scale=1 / F), _randn(B, T, H, F, scale=1 / F), _randn(B, T, H, D, scale=1 / D),
                  _randn(B, P, H, F, scale=1 / F), _randn(B, P, H, D, scale=1 / D)]
        inputs = [x.requires_grad_(True) for x in inputs]
        kw = dict(backend="triton", kernel=_choice(kernel), schedule=_choice(schedule))
        return _fwd_bwd(lambda q, k, v, ke, ve: prefix_linear_attention(q, k, v, ke, ve, **kw)[0],
                        inputs, (B, T, H, D))
    return make


def methods(selected=None, kernels=("default",), schedules=("default",)):
    jrt = lambda base, mk: [(variant_name(base, kn, sc), mk(kn, sc)) for kn in kernels for sc in schedules]  # noqa: E731
    out = jrt("jrt_pla", make_jrt_pla)          # priority order if cut short
    if flash_attn_version():
        out.append(("flash_attn2", make_flash_attn2))
    out.append(("sdpa_flash", make_sdpa))
    try:
        import fla  # noqa: F401
        out.append(("fla_based", make_fla_based))
    except Exception as exc:  # noqa: BLE001
        print(f"fla not importable ({exc!r}): skipping fla_based", file=sys.stderr)
    out += jrt("jrt_based", make_jrt_based)
    return [m for m in out if not selected or m[0] in selected or m[0].split("[")[0] in selected]


def main(argv=None):
    argv = sys.argv if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/benchmarks")
    p.add_argument("--quick", action="store_true", help="T in {2k, 8k}")
    p.add_argument("--seq-lens", type=int, nargs="+", default=None)
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--methods", nargs="*", default=None, help="method names or bases (jrt_pla: every variant)")
    p.add_argument("--kernel", nargs="+", default=["default"], choices=["default", "sym", "full"])
    p.add_argument("--schedule", nargs="+", default=["default"], choices=["default", "walk", "chunk"])
    p.add_argument("--warmup", type=int, default=25)
    p.add_argument("--rep", type=int, default=100)
    p.add_argument("--formats", nargs="+", default=["json", "md", "png"], choices=["json", "md", "png"])
    args = p.parse_args(argv[1:])
    if not torch.cuda.is_available():
        print("train benchmark needs CUDA", file=sys.stderr)
        return 1
    seq_lens = args.seq_lens or ([2048, 8192] if args.quick else SEQ_LENS)
    sweep = {"name": f"forward+backward, B={args.batch}", "axis": "T", "values": seq_lens, "cells": {}}
    interrupted = False
    meths = methods(args.methods, args.kernel, args.schedule)
    try:  # a SIGINT (timeout --signal=INT) still writes what was measured
        for name, make in meths:
            sweep["cells"][name] = {}
            for T in seq_lens:
                cell = time_cell(make, args.batch, T, args.warmup, args.rep)
                print(f"{name:24s} B={args.batch} T={T:6d}: {cell}", flush=True)
                sweep["cells"][name][str(T)] = cell
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: writing partial results", file=sys.stderr)
    result = {"env": environment(argv), "settings": {**kernel_settings(args), "B": args.batch},
              "baseline": baseline_name(), "sweeps": [sweep], "interrupted": interrupted}
    ratios = {}
    for T in seq_lens:
        for name in sweep["cells"]:
            if not name.startswith("jrt_pla"):
                continue
            pla = sweep["cells"][name].get(str(T), {}).get("ms")
            for base in ("fla_based", "flash_attn2", "sdpa_flash"):
                b = sweep["cells"].get(base, {}).get(str(T), {}).get("ms")
                if pla and b:
                    ratios[f"{base} / {name} at T={T}"] = round(b / pla, 2)
    result["speedups"] = ratios
    write_outputs(result, Path(args.out), "train", "Training step (forward + backward), sequence mixer only",
                  args.formats)
    print(ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
