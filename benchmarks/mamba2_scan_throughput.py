"""Training throughput of HF Mamba2 with transformers' torch scan vs fla's simple-GLA scan.

Same model (hf-mamba2:<size>, matched to jrt-<size>), same random batch, bf16 autocast, AdamW step
included; the two scans alternate in one process so they share the card and its clocks.

    python benchmarks/mamba2_scan_throughput.py --out results/benchmarks/mamba2_scan.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from jrt.baselines import build_by_name as build_model
from jrt.baselines import mamba2_scan


def tokens_per_second(model, opt, ids, steps: int, warmup: int) -> float:
    for i in range(warmup + steps):
        if i == warmup:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().flatten(0, 1), ids[:, 1:].flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return ids.numel() * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="small")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("needs a CUDA GPU")
    if not mamba2_scan.install():
        sys.exit("needs flash-linear-attention (pip install flash-linear-attention)")
    torch.manual_seed(0)
    model, info = build_model(f"hf-mamba2:{a.size}", 50257, a.seq_len)
    model = model.cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(0, 50257, (a.batch, a.seq_len), device="cuda")
    result = {"card": torch.cuda.get_device_name(), "date": time.strftime("%Y-%m-%d"), "params": info["params"],
              "batch": a.batch, "seq_len": a.seq_len, "command": " ".join(sys.argv)}
    for scan in ("torch", "fla", "torch", "fla"):  # twice each, alternating; the second pass is reported
        os.environ["JRT_MAMBA2_SCAN"] = scan
        result[f"{scan}_tokens_per_s"] = round(tokens_per_second(model, opt, ids, a.steps, a.warmup))
        print(f"{scan:>5} scan: {result[f'{scan}_tokens_per_s']:,} tokens/s", flush=True)
    result["speedup"] = round(result["fla_tokens_per_s"] / result["torch_tokens_per_s"], 2)
    print(json.dumps(result, indent=1))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
