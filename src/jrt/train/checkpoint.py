"""Crash-safe training checkpoints.

Layout: ``<run>/checkpoints/step_00000100/``
    model.safetensors     full (unsharded) fp32 weights
    optimizer.pt          full optimizer state (torch.save; loaded with weights_only=True)
    scheduler.pt          LR scheduler state
    rng_rank{r}.pt        per-rank RNG states (python, numpy, torch CPU, CUDA)
    trainer_state.json    step, samples consumed (the data position), tokens, run settings
    meta.json             written LAST: size and sha256 of every file above

Writing: everything goes into ``.step_00000100.tmp-<pid>`` first, each file fsync'ed, ``meta.json``
last, then one ``rename`` publishes the directory and the parent directory is fsync'ed. A kill at
any moment leaves either the previous checkpoints untouched plus a stray ``.tmp`` directory (removed
on the next start) or a complete new checkpoint.

Loading: a checkpoint is used only if ``meta.json`` exists and every file has the recorded size and
sha256. ``latest_valid_checkpoint`` walks back from the newest, reporting each rejected one with the
reason, so a truncated or corrupt checkpoint is never loaded and the previous one is used.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import torch

from jrt import env
from jrt.files import fsync_dir, fsync_file, sha256_file, write_text_durably

STEP_RE = re.compile(r"^step_(\d{8})$")
KILL_ENV = "JRT_TEST_KILL_IN_CHECKPOINT"  # test hook: SIGKILL self mid-write at this step


class CheckpointError(RuntimeError):
    """A checkpoint that must not be loaded (incomplete, truncated, corrupt)."""


def step_dir_name(step: int) -> str:
    return f"step_{step:08d}"


def clean_stale_tmp(root: Path) -> list[str]:
    """Remove leftovers of interrupted writes (``.step_*.tmp-*``)."""
    removed = []
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".step_") and ".tmp-" in p.name:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
    return removed


def save_checkpoint(root: Path, step: int, model_state: dict, optim_state: dict, sched_state: dict,
                    rng_states: list, trainer_state: dict, keep_last: int | None = None) -> Path:
    """Write one checkpoint atomically (call on rank 0 only). Returns the published directory."""
    from safetensors.torch import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".{step_dir_name(step)}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    # tied weights share storage; safetensors refuses shared tensors, so store independent copies
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model_state.items()}
    save_file(tensors, str(tmp / "model.safetensors"), metadata={"step": str(step)})
    if env.get(KILL_ENV) == str(step):  # test hook: die mid-write, after the weights
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    torch.save(optim_state, tmp / "optimizer.pt")
    torch.save(sched_state, tmp / "scheduler.pt")
    for r, st in enumerate(rng_states):
        torch.save(st, tmp / f"rng_rank{r}.pt")
    (tmp / "trainer_state.json").write_text(json.dumps(trainer_state, indent=2) + "\n")
    files = {}
    for p in sorted(tmp.iterdir()):
        fsync_file(p)
        files[p.name] = {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
    meta = {"step": step, "files": files}
    write_text_durably(tmp / "meta.json", json.dumps(meta, indent=2) + "\n")
    fsync_dir(tmp)
    if final.exists():  # a re-run of the same step after a resume: replace it atomically-ish
        old = root / f".{final.name}.tmp-old-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync_dir(root)
    if keep_last:
        steps = list_checkpoints(root)
        for s in steps[:-keep_last]:
            shutil.rmtree(root / step_dir_name(s), ignore_errors=True)
        fsync_dir(root)
    return final


def list_checkpoints(root: Path) -> list[int]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(m.group(1)) for p in root.iterdir() if (m := STEP_RE.match(p.name)) and p.is_dir())


def verify_checkpoint(path: Path) -> dict:
    """meta.json of a complete, intact checkpoint; CheckpointError with the reason otherwise."""
    path = Path(path)
    meta_p = path / "meta.json"
    if not meta_p.is_file():
        raise CheckpointError(f"checkpoint {path} is incomplete: no meta.json (interrupted write?)")
    try:
        meta = json.loads(meta_p.read_text())
        files = meta["files"]
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"checkpoint {path} is corrupt: unreadable meta.json ({e})") from e
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json"):
        if name not in files:
            raise CheckpointError(f"checkpoint {path} is corrupt: meta.json does not list {name}")
    for name, info in files.items():
        p = path / name
        if not p.is_file():
            raise CheckpointError(f"checkpoint {path} is corrupt: {name} is missing")
        size = p.stat().st_size
        if size != info["bytes"]:
            raise CheckpointError(f"checkpoint {path} is corrupt: {name} has {size} bytes, "
                                  f"expected {info['bytes']} (truncated?)")
        if sha256_file(p) != info["sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupt: {name} sha256 mismatch")
    return meta


def latest_valid_checkpoint(root: Path, log=print) -> Path | None:
    """The newest checkpoint that verifies; each rejected one is reported through ``log``."""
    for s in reversed(list_checkpoints(root)):
        p = Path(root) / step_dir_name(s)
        try:
            verify_checkpoint(p)
            return p
        except CheckpointError as e:
            log(f"[checkpoint] skipping: {e}; falling back to the previous checkpoint")
    return None


def load_checkpoint(path: Path, rank: int = 0) -> dict:
    """Verified contents: model (state dict), optimizer, scheduler, rng (this rank's), trainer."""
    from safetensors.torch import load_file

    path = Path(path)
    verify_checkpoint(path)
    rng_p = path / f"rng_rank{rank}.pt"
    return {
        "path": str(path),
        "model": load_file(str(path / "model.safetensors")),
        "optimizer": torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True),
        "scheduler": torch.load(path / "scheduler.pt", map_location="cpu", weights_only=True),
        "rng": torch.load(rng_p, map_location="cpu", weights_only=False) if rng_p.is_file() else None,
        "trainer": json.loads((path / "trainer_state.json").read_text()),
    }
