"""Markdown scaling table from scripts/multi_gpu_scaling.py's output.

    python scripts/scaling_table.py results/benchmarks/multi_gpu.json
    python scripts/scaling_table.py runs/multi_gpu/multi_gpu.json --steps runs/multi_gpu/steps.jsonl

Without --steps the table holds what multi_gpu.json records: the trainer's whole-run average tokens/s
(which includes Triton autotuning and NCCL set-up in the first steps, so short runs understate the
steady state). With --steps (the per-step records) it adds the median per-step tokens/s after
--skip-steps steps and the efficiency from it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tables import multi_gpu


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("summary", help="multi_gpu.json")
    p.add_argument("--steps", default=None, help="steps.jsonl with the per-step train records")
    p.add_argument("--skip-steps", type=int, default=5, help="steps left out of the per-step median")
    a = p.parse_args(argv)
    print(multi_gpu(str(Path(a.summary).resolve()), str(Path(a.steps).resolve()) if a.steps else None, a.skip_steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
