"""Recall tasks on real documents (SWDE, FDA, SQuAD, NQ, TriviaQA, DROP, kv-retrieval), usable without lm-eval.

    from jrt.tasks import iter_task, evaluate, contains_score
    for ex in iter_task("swde_twice", tokenizer, data_dir="/path/to/data", context_length=1000):
        ex.prompt, ex.answers
"""
from jrt.tasks.recall import (
    BASE_TASKS,
    SOURCES,
    TASK_NAMES,
    Example,
    build_task,
    evaluate,
    iter_task,
    parse_task_name,
    resolve_data_dir,
    resolve_source,
    stratified_by_document,
)
from jrt.tasks.scoring import contains_score, cut_generation, wilson_interval
from jrt.tasks.sources import HUB_DATASETS
from jrt.tasks.truncation import as_tokenizer, find_anchor, truncate_around_answer

__all__ = [
    "BASE_TASKS",
    "HUB_DATASETS",
    "SOURCES",
    "TASK_NAMES",
    "Example",
    "build_task",
    "evaluate",
    "iter_task",
    "parse_task_name",
    "resolve_data_dir",
    "resolve_source",
    "stratified_by_document",
    "contains_score",
    "wilson_interval",
    "cut_generation",
    "as_tokenizer",
    "find_anchor",
    "truncate_around_answer",
]
