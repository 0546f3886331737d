"""Evaluation: lm-evaluation-harness adapters (`jrt` model), the shipped recall task folder
(`TASKS_DIR`, tasks `jrt_swde`, `jrt_swde_twice`, ...), and the runner behind `jrt eval`.

lm-eval is imported lazily: `import jrt.eval` stays cheap.
"""
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent / "tasks"

__all__ = ["TASKS_DIR", "run_eval", "normalize_tasks", "results_table", "Generator", "JRTLM"]


def __getattr__(name):
    if name in ("run_eval", "normalize_tasks", "results_table", "make_task_manager"):
        from jrt.eval import runner

        return getattr(runner, name)
    if name in ("Generator", "load_causal_lm", "is_jrt_model"):
        from jrt.eval import generation

        return getattr(generation, name)
    if name == "JRTLM":  # imports lm-eval
        from jrt.eval import models

        return models.JRTLM
    raise AttributeError(name)
