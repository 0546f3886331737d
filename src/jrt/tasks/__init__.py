"""Recall tasks on real documents (SWDE, FDA, SQuAD v2, NQ, kv-retrieval), usable without lm-eval.

    from jrt.tasks import iter_task, evaluate, contains_score
    for ex in iter_task("swde_twice", tokenizer, data_dir="../shared/data", context_length=1000):
        ex.prompt, ex.answers
"""
from jrt.tasks.recall import (
    BASE_TASKS,
    TASK_NAMES,
    Example,
    build_task,
    evaluate,
    iter_task,
    parse_task_name,
    resolve_data_dir,
)
from jrt.tasks.scoring import contains_score, cut_generation
from jrt.tasks.truncation import as_tokenizer, find_anchor, truncate_around_answer

__all__ = [
    "BASE_TASKS",
    "TASK_NAMES",
    "Example",
    "build_task",
    "evaluate",
    "iter_task",
    "parse_task_name",
    "resolve_data_dir",
    "contains_score",
    "cut_generation",
    "as_tokenizer",
    "find_anchor",
    "truncate_around_answer",
]
