"""Durable files: content hashes, fsync, and atomic publication.

Training checkpoints, prepared data and evaluation outputs are written so that a kill at any moment
leaves either the old state or the complete new one: write under a temporary name, fsync the
file, rename it into place, fsync the folder.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path: str | os.PathLike) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or a new entry in `path` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_durably(path: str | os.PathLike, text: str) -> None:
    """Write, flush and fsync (the caller publishes the folder it lies in)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def save_npy_durably(path: str | os.PathLike, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Replace `path` by `text` atomically: readers see the old or the new file, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write_text_durably(tmp, text)
    os.replace(tmp, path)
    fsync_dir(path.parent)
