"""Config sweep for the Triton Based/PLA kernels: every candidate timed alone, in one process.

    python benchmarks/tune_kernels.py --out DIR [--jobs 16]

1. Compile: worker processes (--jobs at once) each compile a slice of the candidates on tiny
   inputs, filling Triton's on-disk cache (compilation is CPU-bound; timing is not done there).
2. Time: in this process, each candidate becomes the only config of the autotuner and is timed
   (triton.testing.do_bench, median) on the benchmark shapes: forward of Based and PLA at
   B=16, T=32768 (prefix T/2), H=16, F=16, D=64, bf16; forward+backward of PLA at each
   --bwd-seq-lens (default 2048 and 8192; the backward candidates include the value block BD,
   fixed per set). The
   full forward kernel and the walk schedule are timed (kernel="full", schedule="walk"); the
   backward kernels are shared by both forward kernels.
Writes tune.json (all timings, the best forward and backward configs) and prints a table. The
winners go into jrt/ops/triton/_configs.py (ARCH, per compute capability) to become the default
there; JRT_TRITON_FWD_CONFIGS / JRT_TRITON_BWD_CONFIGS (JSON lists) override for one run.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

# most plausible first (the sweep may be cut by --max-fwd / --time-budget)
FWD_CANDIDATES = [
    ({"BT": bt, "BD": bd, **({"TRANS_OUT": True} if tr else {})}, w, st)
    for bt, bd, w, st, tr in itertools.product((32, 64, 16), (32, 64, 16), (8, 4), (2, 1), (False, True))
    if not (bt == 64 and bd == 64 and w == 4)
]
BWD_CANDIDATES = [({"BT": bt, "BD": bd}, w, st)
                  for bt, bd, w, st in itertools.product((16, 32, 64), (32, 16, 64), (4, 8), (1, 2))]


def inputs(batch, seq_len, prefix_len, device="cuda", dtype=torch.bfloat16, grad=False):
    g = torch.Generator(device=device).manual_seed(0)
    def r(*shape):
        return (torch.randn(*shape, device=device, dtype=dtype, generator=g) / 4).requires_grad_(grad)
    H, F, D = 16, 16, 64
    return (r(batch, seq_len, H, F), r(batch, seq_len, H, F), r(batch, seq_len, H, D),
            r(batch, prefix_len, H, F), r(batch, prefix_len, H, D))


def compile_worker(kind: str, configs: list) -> None:
    """Compiles each config on tiny inputs (fills the on-disk cache)."""
    from jrt.ops import based_linear_attention, prefix_linear_attention
    for cfg in configs:
        try:
            use(kind, cfg)
            q, k, v, ke, ve = inputs(1, 256, 128, grad=(kind == "bwd"))
            o1, _ = based_linear_attention(q, k, v, backend="triton", **PINNED)
            o2, _ = prefix_linear_attention(q, k, v, ke, ve, backend="triton", **PINNED)
            if kind == "bwd":
                (o1.float().sum() + o2.float().sum()).backward()
            torch.cuda.synchronize()
        except Exception as exc:  # a config that does not compile is reported by the timing phase
            print(f"compile failed {cfg}: {type(exc).__name__}: {str(exc)[:200]}", flush=True)


PINNED = dict(kernel="full", schedule="walk")


def use(kind: str, cfg) -> None:
    """Makes `cfg` the only autotune config of the forward (or both backward kernels)."""
    from jrt.ops.triton import _configs
    _configs.override(kind, [cfg])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/benchmarks")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--max-fwd", type=int, default=len(FWD_CANDIDATES))
    parser.add_argument("--time-budget", type=float, default=240.0, help="seconds for the timing phase")
    parser.add_argument("--bwd-seq-lens", default="2048,8192", help="T of the forward+backward timings")
    parser.add_argument("--skip-fwd", action="store_true", help="time the backward candidates only")
    args = parser.parse_args()
    if args.worker:
        compile_worker(args.worker[0], [tuple(c) for c in json.loads(args.worker[1])])
        return 0

    import triton

    from jrt.ops import based_linear_attention, prefix_linear_attention

    fwd_list = [] if args.skip_fwd else FWD_CANDIDATES[: args.max_fwd]
    bwd_lens = [int(t) for t in args.bwd_seq_lens.split(",")]
    t0 = time.time()
    jobs = []
    for kind, cands in (("fwd", fwd_list), ("bwd", BWD_CANDIDATES)):
        for i in range(args.jobs // 2 if kind == "bwd" else args.jobs):
            part = cands[i:: (args.jobs // 2 if kind == "bwd" else args.jobs)]
            if part:
                jobs.append(subprocess.Popen([sys.executable, __file__, "--worker", kind, json.dumps(part)]))
    for j in jobs:
        j.wait()
    compile_s = time.time() - t0
    print(f"compiled {len(fwd_list)} forward and {len(BWD_CANDIDATES)} backward candidates in {compile_s:.0f}s",
          flush=True)

    rows = []
    q, k, v, ke, ve = inputs(16, 32768, 16384)
    t1 = time.time()
    for cfg in fwd_list:
        if time.time() - t1 > args.time_budget * 0.7:
            break
        use("fwd", cfg)
        try:
            based = triton.testing.do_bench(lambda: based_linear_attention(q, k, v, backend="triton", **PINNED),
                                            warmup=10, rep=40, return_mode="median")
            pla = triton.testing.do_bench(lambda: prefix_linear_attention(q, k, v, ke, ve, backend="triton", **PINNED),
                                          warmup=10, rep=40, return_mode="median")
            rows.append(dict(kind="fwd", config=cfg, based_ms=based, pla_ms=pla))
        except Exception as exc:
            rows.append(dict(kind="fwd", config=cfg, error=f"{type(exc).__name__}: {str(exc)[:160]}"))
        print(json.dumps(rows[-1]), flush=True)
    del q, k, v, ke, ve
    good = [r for r in rows if "pla_ms" in r]
    best_fwd = min(good, key=lambda r: r["pla_ms"] + r["based_ms"])["config"] if good else None
    if best_fwd:
        use("fwd", best_fwd)
    shapes = {t: inputs(16, t, t // 2, grad=True) for t in bwd_lens}
    dos = {t: torch.randn_like(shapes[t][2]) for t in bwd_lens}
    for cfg in BWD_CANDIDATES:
        if time.time() - t1 > args.time_budget:
            break
        use("bwd", cfg)
        row = dict(kind="bwd", config=cfg)
        for t, (q, k, v, ke, ve) in shapes.items():
            def step(q=q, k=k, v=v, ke=ke, ve=ve, do=dos[t]):
                o, _ = prefix_linear_attention(q, k, v, ke, ve, backend="triton", **PINNED)
                o.backward(do)
            try:
                row[f"pla_fwd_bwd_ms_T{t}"] = triton.testing.do_bench(
                    step, warmup=10, rep=40, return_mode="median", grad_to_none=[q, k, v, ke, ve])
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
                break
        rows.append(row)
        print(json.dumps(row), flush=True)
    best_bwd = {}
    for t in bwd_lens:
        goodb = [r for r in rows if f"pla_fwd_bwd_ms_T{t}" in r]
        if goodb:
            best = min(goodb, key=lambda r: r[f"pla_fwd_bwd_ms_T{t}"])
            best_bwd[t] = dict(config=best["config"], ms=best[f"pla_fwd_bwd_ms_T{t}"])
    out = dict(card=torch.cuda.get_device_name(), command=" ".join(sys.argv), compile_s=compile_s,
               best_fwd=best_fwd, best_bwd=best_bwd, rows=rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "tune.json").write_text(json.dumps(out, indent=1))
    print("best forward", best_fwd, min((r["pla_ms"] for r in good), default=None))
    print("best backward per T", best_bwd)
    os.makedirs(args.out, exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
