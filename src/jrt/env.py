"""Every environment variable jrt reads, in one place.

Library code takes its settings as arguments; the variables below are user-level overrides and
defaults (a data folder, a kernel-tuning experiment) read only here, through :func:`get`. Code
never sets them. docs/CONFIGURATION.md lists them (a test keeps the two in step).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EnvVar:
    name: str
    help: str
    default: str | None = None


VARIABLES: dict[str, EnvVar] = {v.name: v for v in [
    EnvVar("JRT_DATA_DIR", "data root (corpus/, swde/, fda/, ...) when no --data-dir / data_dir= is given"),
    EnvVar("JRT_CACHE", "folder for generated synthetic datasets (default ~/.cache/jrt/synthetics)"),
    EnvVar("JRT_OPS_BACKEND", "force the ops backend for calls that pass backend=None: naive, torch or triton"),
    EnvVar("JRT_TRITON_AUTOTUNE", "'full' widens the Triton autotune sets, 'first' keeps one config (fast compiles)"),
    EnvVar("JRT_TRITON_FWD_CONFIGS", "JSON [[meta, num_warps, num_stages], ...]: replaces the full forward's "
           "autotune set on every architecture (default: per compute capability, jrt/ops/triton/_configs.py)"),
    EnvVar("JRT_TRITON_BWD_CONFIGS", "JSON list as above: replaces the backward autotune set; its configs may "
           "fix the value block BD (the same in every config of the set)"),
    EnvVar("JRT_TRITON_SYM_CONFIGS", "JSON list as above: replaces the symmetric forward's autotune set"),
    EnvVar("JRT_TRITON_SEGMENTS", "force the number of sequence segments of the walk schedule (tuning; "
           "calls with schedule=None then walk at every T)"),
    EnvVar("JRT_TRITON_INTERPRET_META", "under TRITON_INTERPRET=1, which config of an autotune set to run", "0"),
    EnvVar("JRT_MAMBA2_SCAN", "HF Mamba2 chunk scan on CUDA: 'torch' (transformers) or 'fla' (fla's GLA kernel)",
           "torch"),
    EnvVar("JRT_TOKENIZER", "lm-eval recall tasks: tokenizer for truncation when the task metadata names none"),
    EnvVar("JRT_CONTEXT_LENGTH", "lm-eval recall tasks: context window in tokens when the metadata names none",
           "1000"),
    EnvVar("JRT_TEST_KILL_IN_CHECKPOINT", "tests only: kill the trainer with SIGKILL inside the checkpoint write of "
           "this step (the crash-safety tests)"),
]}


def get(name: str) -> str | None:
    """The value of a jrt environment variable (empty counts as unset), else its default."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not a jrt environment variable (known: {', '.join(VARIABLES)})")
    value = os.environ.get(name)
    return value if value else VARIABLES[name].default


def data_root(explicit: str | os.PathLike | None = None, required: bool = True) -> Path | None:
    """The data root: ``explicit`` if given, else ``$JRT_DATA_DIR``.

    Raises FileNotFoundError naming what was tried when the one given is not a folder, or when
    neither is given and ``required`` (else returns None).
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"data directory {str(path)!r} does not exist")
        return path
    env = get("JRT_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"$JRT_DATA_DIR={env!r} is not a directory")
        return path
    if not required:
        return None
    raise FileNotFoundError("no data directory: pass --data-dir / data_dir=... or set $JRT_DATA_DIR")
