"""Recall tasks on real documents: loaders, truncation around the answer, prompts, `contains`.

Every task yields :class:`Example` records (``prompt``, ``answers``, ...). Task names: ``swde``,
``fda``, ``squad``, ``nq``, ``triviaqa``, ``drop``, ``kv_retrieval``, each also with ``_twice``
(JRT-Prompt, two passes). Records come from the local data layout or the paper's hub datasets
(:mod:`jrt.tasks.sources`); prompts follow each official task file (:mod:`jrt.tasks.prompts`).
"""
from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from jrt.env import data_root as resolve_data_dir
from jrt.tasks.prompts import build_prompt
from jrt.tasks.scoring import contains_score
from jrt.tasks.sources import HUB_ONLY, LOCAL_ONLY, hub_records, local_records
from jrt.tasks.truncation import as_tokenizer, find_anchor, truncate_around_answer

__all__ = [
    "BASE_TASKS",
    "TASK_NAMES",
    "Example",
    "SOURCES",
    "resolve_data_dir",
    "resolve_source",
    "stratified_by_document",
    "parse_task_name",
    "build_task",
    "iter_task",
    "evaluate",
]

BASE_TASKS = ("swde", "fda", "squad", "nq", "triviaqa", "drop", "kv_retrieval")
SOURCES = ("local", "hub")
TASK_NAMES = tuple(n for b in BASE_TASKS for n in (b, b + "_twice"))


@dataclass
class Example:
    task: str
    doc_id: str
    prompt: str
    answers: list[str]
    context: str              # the cleaned, truncated context that the prompt holds `passes` times
    question: str             # SWDE/FDA: the attribute name; QA: the question
    passes: int
    n_context_tokens: int     # tokens of the truncated window
    anchor_found: bool        # an anchor (key/value/answer) occurs in the document
    answer_in_window: bool    # a gold answer occurs (case-insensitively) in the truncated context
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- task names

def parse_task_name(name: str) -> tuple[str, int]:
    """``"swde" -> ("swde", 1)``, ``"swde_twice" -> ("swde", 2)``; also accepts a ``jrt_`` prefix."""
    raw = name
    if name.startswith("jrt_"):
        name = name[4:]
    passes = 1
    if name.endswith("_twice"):
        name, passes = name[: -len("_twice")], 2
    if name not in BASE_TASKS:
        raise ValueError(f"unknown task {raw!r}; known tasks: {', '.join(TASK_NAMES)}")
    return name, passes


# ----------------------------------------------------------------------------- building examples

def resolve_source(source: str | None, data_dir: str | os.PathLike | None = None) -> str:
    """``"local"`` or ``"hub"``; ``None`` means local when a data root is given (argument or
    ``$JRT_DATA_DIR``), else hub."""
    if source is None:
        return "local" if resolve_data_dir(data_dir, required=False) is not None else "hub"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    return source


def _records(base: str, source: str, data_dir, nq_size: int) -> Iterator[dict]:
    if source == "local":
        if base in HUB_ONLY:
            raise ValueError(f"task {base!r} has no local data (only HazyResearch's processed rows): "
                             "use source 'hub'")
        return local_records(resolve_data_dir(data_dir), base)
    if base in LOCAL_ONLY:
        raise ValueError(f"task {base!r} has no hub dataset: use source 'local'")
    return hub_records(base, resolve_data_dir(data_dir, required=False), nq_size=nq_size)


def stratified_by_document(records: Sequence[dict], limit: int, seed: int = 0) -> list[dict]:
    """``limit`` records spread over all documents: documents in a seeded random order, one record
    per document per round (each document's records also shuffled), until ``limit`` are taken."""
    rng = random.Random(seed)
    by_doc: dict[str, list[dict]] = {}
    for rec in records:
        by_doc.setdefault(rec["doc_id"], []).append(rec)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    for doc in docs:
        rng.shuffle(by_doc[doc])
    picked: list[dict] = []
    depth = 0
    while len(picked) < limit and any(len(v) > depth for v in by_doc.values()):
        for doc in docs:
            if len(by_doc[doc]) > depth and len(picked) < limit:
                picked.append(by_doc[doc][depth])
        depth += 1
    return picked


def iter_task(name: str, tokenizer: Any, data_dir: str | os.PathLike | None = None,
              context_length: int = 1000, answer_length: int = 50, limit: int | None = None,
              passes: int | None = None, source: str | None = None, nq_size: int = 1024,
              seed: int = 0) -> Iterator[Example]:
    """Yield the examples of task ``name`` (e.g. ``"swde"``, ``"fda_twice"``, ``"drop"``).

    The context is truncated (the paper, docs/DESIGN.md) in ``tokenizer``'s tokens *before* the prompt is
    built, so the default and twice prompts hold the same window. ``passes`` overrides the number
    of copies (``_twice`` = 2; 3+ allowed). ``source``: ``"local"`` data layout or ``"hub"``
    datasets (:func:`resolve_source`). ``limit``: SWDE/FDA take ``limit`` (doc, attribute) pairs
    stratified over all held-out documents with ``seed``; other tasks stop after ``limit``.
    """
    base, name_passes = parse_task_name(name)
    passes = name_passes if passes is None else passes
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    if limit is not None and limit <= 0:
        return
    source = resolve_source(source, data_dir)
    tok = as_tokenizer(tokenizer)
    task_label = base if passes == 1 else (base + "_twice" if passes == 2 else f"{base}_x{passes}")
    records: Iterable[dict] = _records(base, source, data_dir, nq_size)
    if base in ("swde", "fda") and limit is not None:
        records = stratified_by_document(list(records), limit, seed)
    count = 0
    token_cache: dict[str, list[int]] = {}  # the last document's tokens (kv tasks: several keys per doc)
    for rec in records:
        text = rec["text"].lstrip("\ufeff").strip()
        cache_key = rec["doc_id"] + "\0" + text[:64]
        if cache_key not in token_cache:
            token_cache.clear()
            token_cache[cache_key] = tok.encode(text)
        window = truncate_around_answer(text, rec["anchors"], tok, context_length, answer_length,
                                        tokens=token_cache[cache_key])
        if window is None:
            continue
        context, prompt = build_prompt(rec, window.text, passes)
        yield Example(
            task=task_label,
            doc_id=rec["doc_id"],
            prompt=prompt,
            answers=list(rec["answers"]),
            context=context,
            question=rec["question"],
            passes=passes,
            n_context_tokens=window.n_tokens,
            anchor_found=window.anchor_found,
            answer_in_window=any(find_anchor(context, [a]) >= 0 for a in rec["answers"]),
            extra={"source": source},
        )
        count += 1
        if limit is not None and count >= limit:
            return


def build_task(name: str, tokenizer: Any, **kwargs) -> list[Example]:
    """All examples of a task as a list (see :func:`iter_task` for the arguments)."""
    return list(iter_task(name, tokenizer, **kwargs))


def evaluate(generate_fn: Callable[[list[str]], list[str]], task: str | Sequence[Example],
             tokenizer: Any = None, batch_size: int = 8, **kwargs) -> dict[str, Any]:
    """Score ``generate_fn`` on a task without lm-eval.

    ``generate_fn(prompts) -> continuations`` (greedy, stop at "\\n", <= 48 new tokens is the
    paper's setting; the continuation is cut at "\\n" here anyway). ``task`` is a task name (then
    ``tokenizer`` and ``iter_task`` keyword arguments are needed) or a list of examples.
    Returns ``{"task", "contains", "n", "predictions"}`` with ``contains`` in [0, 1].
    """
    examples = list(iter_task(task, tokenizer, **kwargs)) if isinstance(task, str) else list(task)
    predictions: list[str] = []
    for i in range(0, len(examples), batch_size):
        batch = examples[i:i + batch_size]
        outs = list(generate_fn([e.prompt for e in batch]))
        if len(outs) != len(batch):
            raise ValueError(f"generate_fn returned {len(outs)} outputs for {len(batch)} prompts")
        predictions.extend(outs)
    scores = [contains_score(p, e.answers) for p, e in zip(predictions, examples)]
    name = task if isinstance(task, str) else (examples[0].task if examples else "")
    return {"task": name, "contains": sum(scores) / len(scores) if scores else float("nan"),
            "n": len(scores), "predictions": predictions, "scores": scores}
