"""Multi-GPU scaling of the trainer: the same global batch on 1 GPU and on N GPUs (DDP, FSDP2).

    python scripts/multi_gpu_scaling.py --data .gpu_data/data --out runs/multi_gpu --ngpu 2 --steps 15
    python scripts/scaling_table.py runs/multi_gpu/multi_gpu.json [--steps runs/multi_gpu/steps.jsonl]

Runs, each through `torchrun --standalone --nproc_per_node K -m jrt.train.cli train`:
  small_1gpu      jrt-small, 1 GPU, micro-batch 16 x accumulation 2N     (global batch 32 x 2048 for N = 2)
  small_ddpN      jrt-small, N GPUs, DDP, micro-batch 16 x accumulation 2
  small_fsdpN     jrt-small, N GPUs, FSDP2, micro-batch 16 x accumulation 2
  360m_1gpu       jrt-360m, 1 GPU, micro-batch 4 x accumulation 2N, --steps-360m steps
  360m_fsdpN      jrt-360m, N GPUs, FSDP2, micro-batch 4 x accumulation 2
The losses must agree step for step; tokens/s per GPU gives the scaling efficiency. Writes under
--out: one folder and log per run, `multi_gpu.json` (per run: world size, dist, the trainer's
whole-run average tokens/s from summary.json, peak memory, the loss per step) and `steps.jsonl`
(every per-step train record of every run, with a "run" field: loss, tok_per_s, peak_mem_gib, ...).
Needs prepared data (`jrt prepare-data`, or `python scripts/train_comparison.py populate`).
NCCL_NVLS_ENABLE=0 is set (NVLink multicast off), as in the committed run.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
from pathlib import Path


def run(out: Path, data: str, name: str, nproc: int, model: str, micro: int, accum: int, steps: int,
        timeout: float, extra: list[str]) -> int:
    print(f"=== {name}: {nproc} GPU(s), {model}, micro {micro} x accum {accum} x {nproc}, {steps} steps {extra}",
          flush=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "jrt.train.cli", "train", "--data", data, "--out", str(out / name), "--model", model,
           "--seq-len", "2048", "--micro-batch-size", str(micro), "--grad-accum", str(accum),
           "--max-steps", str(steps), "--lr", "8e-4", "--warmup-steps", "5", "--log-every", "1",
           "--eval-splits", "", "--no-progress", "--no-final-model", "--no-tensorboard", "--seed", "1111", *extra]
    env = dict(os.environ, NCCL_NVLS_ENABLE="0", PYTHONUNBUFFERED="1")
    with open(out / f"{name}.log", "w") as log:
        try:
            rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout or None)
        except subprocess.TimeoutExpired:
            rc = 124
    print(f"    exit {rc}", flush=True)
    return rc


def collect(out: Path) -> list[dict]:
    """multi_gpu.json rows and steps.jsonl from the run folders under `out`."""
    rows, steps = [], []
    for d in sorted(glob.glob(str(out / "*/"))):
        name = os.path.basename(d.rstrip("/"))
        recs = []
        for f in glob.glob(os.path.join(d, "*.jsonl")):
            with open(f) as fh:
                recs += [json.loads(line) for line in fh if '"loss"' in line]
        recs = sorted((r for r in recs if r.get("kind", "train") == "train" and "loss" in r), key=lambda r: r["step"])
        summary_path = os.path.join(d, "summary.json")
        summ = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
        rows.append(dict(run=name, world=summ.get("world_size"), dist=summ.get("dist"),
                         tokens_per_s=summ.get("tokens_per_s"), peak_mem_gib=summ.get("peak_mem_gib"),
                         losses=[round(r["loss"], 4) for r in recs]))
        steps += [{"run": name, **r} for r in recs]
    with open(out / "multi_gpu.json", "w") as f:
        json.dump(rows, f, indent=1)
    with open(out / "steps.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in steps)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=".gpu_data/data", help="prepared data folder (jrt prepare-data)")
    p.add_argument("--out", default="runs/multi_gpu", help="output folder")
    p.add_argument("--ngpu", type=int, default=2, help="N: GPUs of the multi-GPU runs")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps of the jrt-small runs")
    p.add_argument("--steps-360m", type=int, default=12, help="optimizer steps of the jrt-360m runs")
    p.add_argument("--run-timeout", type=float, default=0, help="seconds per run (0: none)")
    p.add_argument("--collect-only", action="store_true", help="only rebuild multi_gpu.json / steps.jsonl")
    a = p.parse_args(argv)
    out, n = Path(a.out), a.ngpu
    out.mkdir(parents=True, exist_ok=True)
    if not a.collect_only:
        runs = [("small_1gpu", 1, "jrt-small", 16, 2 * n, a.steps, []),
                (f"small_ddp{n}", n, "jrt-small", 16, 2, a.steps, ["--dist", "ddp"]),
                (f"small_fsdp{n}", n, "jrt-small", 16, 2, a.steps, ["--dist", "fsdp"]),
                ("360m_1gpu", 1, "jrt-360m", 4, 2 * n, a.steps_360m, []),
                (f"360m_fsdp{n}", n, "jrt-360m", 4, 2, a.steps_360m, ["--dist", "fsdp"])]
        for name, nproc, model, micro, accum, steps, extra in runs:
            run(out, a.data, name, nproc, model, micro, accum, steps, a.run_timeout, extra)
    for r in collect(out):
        print(r["run"], r["world"], r["dist"], r["tokens_per_s"], r["peak_mem_gib"], r["losses"][:3], r["losses"][-2:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
