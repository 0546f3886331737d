"""Trainer: DDP == single process, exact resume after SIGKILL (mid-step and mid-checkpoint-write),
corrupt checkpoints never loaded."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from train_helpers import PY, REPO_ROOT, SUB_ENV, read_losses, run_cli

STEPS = 8


def _common(data, out, *extra, model="hf-llama:tiny", steps=STEPS, mbs=2, accum=1):
    return ["train", "--data", str(data), "--out", str(out), "--model", model, "--seq-len", "32",
            "--micro-batch-size", str(mbs), "--grad-accum", str(accum), "--max-steps", str(steps),
            "--warmup-steps", "2", "--lr", "3e-3", "--log-every", "1", "--eval-splits", "val",
            "--eval-tokens", "256", "--no-tensorboard", "--no-progress", "--no-final-model", *extra]


@pytest.fixture(scope="module")
def reference_run(prepared, tmp_path_factory):
    """Uninterrupted run (4 samples per step), checkpoints every 2 steps."""
    data = prepared[0]
    out = tmp_path_factory.mktemp("ref") / "run"
    run_cli(_common(data, out, "--save-every", "2", "--keep-last", "3", mbs=4))
    return data, out, read_losses(out)


def test_reference_run_outputs(reference_run):
    data, out, losses = reference_run
    assert sorted(losses) == list(range(1, STEPS + 1))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == STEPS and summary["tokens"] == STEPS * 4 * 32
    assert summary["eval"]["val"]["ppl"] > 1
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert ckpts == ["step_00000004", "step_00000006", "step_00000008"]  # keep last 3
    for c in ckpts:
        files = {p.name for p in (out / "checkpoints" / c).iterdir()}
        assert {"model.safetensors", "optimizer.pt", "scheduler.pt", "rng_rank0.pt",
                "trainer_state.json", "meta.json"} <= files
    # a fresh run refuses to overwrite an existing run directory
    proc = run_cli(_common(data, out), check=False)
    assert proc.returncode != 0 and "--resume" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_equal_one(reference_run, tmp_path):
    """torchrun gloo, 2 processes x 2 samples == 1 process x 4 samples (same global batch)."""
    data, _, ref = reference_run
    out = tmp_path / "ddp"
    cmd = [PY, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "jrt.train.cli",
           *_common(data, out, mbs=2)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=SUB_ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = read_losses(out)
    assert sorted(got) == sorted(ref)
    for s in ref:
        assert got[s] == pytest.approx(ref[s], rel=1e-4, abs=1e-4), (s, got[s], ref[s])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["dist"] == "ddp"
    # gradient accumulation: 1 process x 2 micro-batches of 2 gives the same trajectory as well
    out2 = tmp_path / "accum"
    run_cli(_common(data, out2, mbs=2, accum=2, steps=3))
    acc = read_losses(out2)
    for s in acc:
        assert acc[s] == pytest.approx(ref[s], rel=1e-4, abs=1e-4)


def test_sigkill_mid_training_resumes_exactly(reference_run, tmp_path):
    data, _, ref = reference_run
    out = tmp_path / "killed"
    args = _common(data, out, "--save-every", "2", mbs=4)
    proc = subprocess.Popen([PY, "-m", "jrt.train.cli", *args], cwd=REPO_ROOT, env=SUB_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = out / "log.jsonl"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if log.exists() and any(json.loads(l).get("step", 0) >= 5 for l in log.read_text().splitlines() if l):
                break
            if proc.poll() is not None:
                pytest.fail(f"training ended before it could be killed: {proc.stderr.read()[-3000:]}")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    res = run_cli(_common(data, out, "--save-every", "2", "--resume", "auto", mbs=4))
    assert "resumed from" in res.stderr
    got = read_losses(out)
    assert sorted(got) == list(range(1, STEPS + 1))
    assert all(got[s] == ref[s] for s in ref), {s: (got[s], ref[s]) for s in ref}


def test_kill_mid_checkpoint_write_resumes_exactly(reference_run, tmp_path):
    data, _, ref = reference_run
    out = tmp_path / "killed_ckpt"
    args = _common(data, out, "--save-every", "2", mbs=4)
    env = {**SUB_ENV, "JRT_TEST_KILL_IN_CHECKPOINT": "6"}  # SIGKILL after step 6's weights are written
    proc = run_cli(args, env=env, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    ck = out / "checkpoints"
    assert sorted(p.name for p in ck.iterdir() if not p.name.startswith(".")) == ["step_00000002", "step_00000004"]
    assert any(p.name.startswith(".step_00000006.tmp-") for p in ck.iterdir())  # the interrupted write
    res = run_cli(_common(data, out, "--save-every", "2", "--resume", "auto", mbs=4))
    assert "resumed from" in res.stderr and "step_00000004" in res.stderr
    assert not any(p.name.startswith(".") for p in ck.iterdir())  # stale temp dir cleaned
    got = read_losses(out)
    assert all(got[s] == ref[s] for s in ref), {s: (got[s], ref[s]) for s in ref}


def test_corrupt_checkpoint_never_loaded(reference_run, tmp_path):
    data, ref_out, ref = reference_run
    out = tmp_path / "corrupt"
    shutil.copytree(ref_out, out)
    (out / "summary.json").unlink()
    ck = out / "checkpoints"
    # newest checkpoint truncated, the one before it has a flipped byte: both must be refused
    model8 = ck / "step_00000008" / "model.safetensors"
    with open(model8, "r+b") as f:
        f.truncate(model8.stat().st_size // 2)
    opt6 = ck / "step_00000006" / "optimizer.pt"
    b = bytearray(opt6.read_bytes())
    b[len(b) // 2] ^= 0xFF
    opt6.write_bytes(bytes(b))
    # an explicit path to a corrupt checkpoint: one clear error, nothing loaded
    proc = run_cli(_common(data, out, "--resume", str(ck / "step_00000008"), mbs=4), check=False)
    assert proc.returncode == 2
    assert "corrupt" in proc.stderr and "truncated" in proc.stderr and "Traceback" not in proc.stderr
    # auto: skips 8 (truncated) and 6 (sha mismatch), resumes from 4 and reproduces the losses
    res = run_cli(_common(data, out, "--save-every", "2", "--keep-last", "3", "--resume", "auto", mbs=4))
    assert "step_00000008 is corrupt" in res.stderr and "step_00000006 is corrupt" in res.stderr
    assert "resumed from" in res.stderr and "step_00000004" in res.stderr
    got = read_losses(out)
    assert all(got[s] == ref[s] for s in ref)
