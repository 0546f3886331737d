"""A training run's folder: one run at a time, a resume only of the same run, a log without duplicates.

    <run>/.lock            held (flock) by the process that trains into the folder
    <run>/run_config.json  the settings of the run (written at step 0)
    <run>/log.jsonl        one JSON record per logged step / evaluation
    <run>/checkpoints/     jrt.train.checkpoint
    <run>/final_model/     a Hugging Face folder with the tokenizer the data was made with
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from pathlib import Path

from jrt.files import atomic_write_text

# what must be the same for a resumed run to be the run it continues (trainer_state.json keys)
RESUME_KEYS = ("model", "objective", "prefix", "recall_rows", "seed", "data_manifest_hash", "global_batch", "seq_len",
               "total_steps", "lr", "min_lr", "warmup")


class RunDirError(RuntimeError):
    """A run folder that must not be used as asked (in use, another run, incompatible resume)."""


class RunDirLock:
    """An exclusive lock on a run folder for the life of the training process (rank 0 takes it).

    flock is released by the kernel when the process dies, so a killed run never leaves a stale
    lock; the file's text names the holder for the error message of whoever comes second.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunDirError(f"run directory {self.path.parent} is in use by {holder}; wait for it to finish "
                              "or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def has_run(run_dir: Path) -> bool:
    return (Path(run_dir) / "log.jsonl").exists() or (Path(run_dir) / "checkpoints").exists()


def check_resume(saved: dict, current: dict, checkpoint: Path) -> None:
    """Refuse to continue a checkpoint written by another run: one line naming what differs."""
    differ = [f"{key} {saved[key]!r} -> {current[key]!r}" for key in RESUME_KEYS
              if key in saved and key in current and saved[key] != current[key]]
    if differ:
        raise RunDirError(f"checkpoint {checkpoint} belongs to another run ({'; '.join(differ)}): resume it with "
                          "the same settings, or start a fresh run in another --out")


def truncate_log(path: Path, step: int) -> int:
    """Drop the records written after `step` (a resumed run logs those steps again); returns how many."""
    path = Path(path)
    if not path.exists():
        return 0
    kept, dropped = [], 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record_step = json.loads(line).get("step", 0)
        except json.JSONDecodeError:      # a line cut by a kill mid-write
            dropped += 1
            continue
        if record_step > step:
            dropped += 1
        else:
            kept.append(line)
    if dropped:
        atomic_write_text(path, "".join(line + "\n" for line in kept))
    return dropped


def copy_tokenizer(data_dir: Path, manifest: dict, dst: Path) -> str | None:
    """Put the data's tokenizer files beside a saved model; returns where they came from (None: not found)."""
    recorded = (manifest.get("tokenizer") or {}).get("path")
    candidates = [Path(data_dir) / "tokenizer"] + ([Path(recorded)] if recorded else [])
    for src in candidates:
        if src.is_dir() and any(src.iterdir()):
            for item in src.iterdir():
                if item.is_file():
                    shutil.copy2(item, Path(dst) / item.name)
            return str(src)
    return None
