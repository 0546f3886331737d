"""FSDP2 (fully_shard, gloo) with a JRT preset and the JRT objective == one process."""
from __future__ import annotations

import json
import socket
import subprocess

import pytest
from train_helpers import PY, REPO_ROOT, SUB_ENV, read_losses, run_cli


def _args(data, out, mbs, *extra):
    return ["train", "--data", str(data), "--out", str(out), "--model", "jrt-tiny", "--seq-len", "64",
            "--micro-batch-size", str(mbs), "--max-steps", "4", "--warmup-steps", "1", "--lr", "3e-3",
            "--log-every", "1", "--eval-splits", "val,wikitext2", "--eval-tokens", "256",
            "--no-tensorboard", "--no-progress", "--no-final-model", *extra]


def test_fsdp2_jrt_objective_equals_single_process(prepared, tmp_path):
    data = prepared[0]
    single = tmp_path / "single"
    run_cli(_args(data, single, 4))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "fsdp"
    proc = subprocess.run([PY, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                           "127.0.0.1", "--master_port", str(port), "-m", "jrt.train.cli",
                           *_args(data, out, 2, "--dist", "fsdp", "--save-every", "4")],
                          cwd=REPO_ROOT, env=SUB_ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ref, got = read_losses(single), read_losses(out)
    assert sorted(got) == [1, 2, 3, 4]
    for s in ref:
        assert got[s] == pytest.approx(ref[s], rel=1e-4, abs=1e-4)
    summ = json.loads((out / "summary.json").read_text())
    assert summ["objective"] == "jrt" and summ["dist"] == "fsdp" and summ["prefix"] == 32
    rec = [json.loads(l) for l in (single / "log.jsonl").read_text().splitlines()]
    train = [r for r in rec if r["kind"] == "train"]
    assert all(0.05 < r["mlm_fraction"] < 0.3 for r in train)  # ~15% of 4 x 32 prefix positions
    assert all(abs(r["loss"] - (r["ntp"] + 0.25 * r["mlm"])) < 1e-6 for r in train)
    # the FSDP checkpoint holds full weights: a single process can resume from it
    assert (out / "checkpoints" / "step_00000004" / "meta.json").exists()
