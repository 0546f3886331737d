"""Sweeps as Python files: each module defines `runs(**overrides) -> list[RunConfig]`.

`jrt synth --sweep NAME` loads `jrt.synthetics.sweeps.NAME` (dashes become underscores) or a path
to any .py file with the same `runs` function. Runs are listed in priority order (every model
early), because the sweep runner stops starting new runs once its time budget is spent.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

SWEEPS = ("demo", "mqar", "set-disjointness")


def load_sweep(name: str):
    """The sweep module for a name ('mqar', 'set-disjointness') or a path to a .py file."""
    path = Path(name)
    if name.endswith(".py") and path.exists():
        spec = importlib.util.spec_from_file_location(f"jrt_sweep_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    mod = name.replace("-", "_")
    try:
        return importlib.import_module(f"jrt.synthetics.sweeps.{mod}")
    except ModuleNotFoundError as exc:
        raise ValueError(f"unknown sweep {name!r}: use one of {SWEEPS} or a path to a .py file") from exc


def interleave(groups: list[list]) -> list:
    """Round-robin over groups, so a time-limited sweep covers every group early."""
    out, i = [], 0
    while any(i < len(g) for g in groups):
        out += [g[i] for g in groups if i < len(g)]
        i += 1
    return out
