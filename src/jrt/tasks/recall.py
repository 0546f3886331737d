"""Recall tasks on real documents: loaders, truncation around the answer, prompts, `contains`.

Every task yields :class:`Example` records (``prompt``, ``answers``, ...). Task names: ``swde``,
``fda``, ``squad``, ``nq``, ``kv_retrieval``, each also with ``_twice`` (JRT-Prompt, two passes).

Data layout (``data_dir``, else ``$JRT_DATA_DIR``): docs/DATA.md.
"""
from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jrt.env import data_root as resolve_data_dir
from jrt.prompt import capitalize_key, clean_context, jrt_prompt, qa_cue
from jrt.tasks.scoring import contains_score
from jrt.tasks.truncation import as_tokenizer, find_anchor, truncate_around_answer

__all__ = [
    "BASE_TASKS",
    "TASK_NAMES",
    "Example",
    "resolve_data_dir",
    "parse_task_name",
    "build_task",
    "iter_task",
    "evaluate",
]

BASE_TASKS = ("swde", "fda", "squad", "nq", "kv_retrieval")
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


# ----------------------------------------------------------------------------- data location

def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"missing data file {str(path)!r} (docs/DATA.md gives the layout)")
    return path


def _read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(_require(path), "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                yield json.loads(line)


def _read_ids(path: Path) -> list[str]:
    with open(_require(path), encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


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


# ----------------------------------------------------------------------------- raw records

def _kv_records(data_dir: Path, which: str) -> Iterator[dict]:
    """SWDE/FDA: one record per (held-out doc, key): only the docs listed in eval_doc_ids.txt."""
    if which == "swde":
        docs_path, kv_path, ids_path = "swde/swde_book_docs.jsonl.gz", "swde/swde_book_kv.jsonl.gz", "swde/eval_doc_ids.txt"
    else:
        docs_path, kv_path, ids_path = "fda/fda_docs.jsonl.gz", "fda/fda_kv.jsonl.gz", "fda/eval_doc_ids.txt"
    eval_ids = _read_ids(data_dir / ids_path)
    wanted = set(eval_ids)
    kvs: dict[str, list[tuple[str, str]]] = {}
    for row in _read_jsonl(data_dir / kv_path):
        if row["doc_id"] in wanted:
            kvs.setdefault(row["doc_id"], []).append((row["key"], row["value"]))
    # stream the documents (file order), so that a `limit` stops reading early
    seen = 0
    for row in _read_jsonl(data_dir / docs_path):
        if row["doc_id"] not in wanted:
            continue
        for key, value in kvs.get(row["doc_id"], []):
            yield {"doc_id": row["doc_id"], "text": row["text"], "key": key, "value": value}
        seen += 1
        if seen == len(wanted):
            break


def _squad_records(data_dir: Path) -> Iterator[dict]:
    for row in _read_jsonl(data_dir / "squad" / "squad_v2.0_dev.jsonl.gz"):
        if row.get("is_impossible") or not row.get("answers"):
            continue
        yield {"doc_id": row["id"], "context": row["context"], "question": row["question"],
               "answers": row["answers"]}


def _nq_records(data_dir: Path) -> Iterator[dict]:
    for i, row in enumerate(_read_jsonl(data_dir / "nq" / "nq_open_oracle.jsonl.gz")):
        ctxs = row.get("ctxs") or []
        gold = next((c for c in ctxs if c.get("isgold")), ctxs[0] if ctxs else None)
        if gold is None:
            continue
        context = (gold.get("title", "") + "\n" + gold["text"]).strip()
        yield {"doc_id": f"nq-{i:05d}", "context": context, "question": row["question"],
               "answers": row["answers"]}


def _kv_retrieval_records(data_dir: Path) -> Iterator[dict]:
    for i, row in enumerate(_read_jsonl(data_dir / "kv_retrieval" / "kv-retrieval-75_keys.jsonl.gz")):
        records = {k: v for k, v in row["ordered_kv_records"]}
        context = "JSON data:\n" + json.dumps(records, indent=1)
        yield {"doc_id": f"kv75-{i:04d}", "context": context,
               "question": f'What is the value of key "{row["key"]}"?',
               "answers": [row["value"]], "anchors": [row["key"], row["value"]]}


def _dedup(strings: Sequence[str]) -> list[str]:
    out: list[str] = []
    for s in strings:
        s = s.strip()
        if s and s not in out:
            out.append(s)
    return out


# ----------------------------------------------------------------------------- building examples

def iter_task(name: str, tokenizer: Any, data_dir: str | os.PathLike | None = None,
              context_length: int = 1000, answer_length: int = 50, limit: int | None = None,
              passes: int | None = None) -> Iterator[Example]:
    """Yield the examples of task ``name`` (e.g. ``"swde"``, ``"fda_twice"``).

    The context is truncated (PAPER.md 1.3) in ``tokenizer``'s tokens *before* the prompt is
    built, so the default and twice prompts hold the same window. ``passes`` overrides the number
    of copies (``_twice`` = 2; 3+ allowed). ``limit`` stops after that many examples.
    """
    base, name_passes = parse_task_name(name)
    passes = name_passes if passes is None else passes
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    if limit is not None and limit <= 0:
        return
    root = resolve_data_dir(data_dir)
    tok = as_tokenizer(tokenizer)
    task_label = base if passes == 1 else (base + "_twice" if passes == 2 else f"{base}_x{passes}")
    count = 0
    token_cache: dict[str, list[int]] = {}  # the last document's tokens (kv tasks: several keys per doc)

    if base in ("swde", "fda"):
        records: Iterator[dict] = _kv_records(root, base)
    elif base == "squad":
        records = _squad_records(root)
    elif base == "nq":
        records = _nq_records(root)
    else:
        records = _kv_retrieval_records(root)

    for rec in records:
        if base in ("swde", "fda"):
            raw = rec["text"]
            key, value = rec["key"], rec["value"].strip()
            answers = [value]
            anchors = [key, value]
            question = key
        else:
            raw = rec["context"]
            answers = [a for a in _dedup(rec["answers"]) if len(a) > 1]
            if not answers:
                continue  # answers of <= 1 character drop the document (PAPER.md 1.3)
            anchors = rec.get("anchors") or answers
            question = rec["question"].strip()
        text = raw.lstrip("\ufeff").strip()
        if rec["doc_id"] not in token_cache:
            token_cache.clear()
            token_cache[rec["doc_id"]] = tok.encode(text)
        window = truncate_around_answer(text, anchors, tok, context_length, answer_length,
                                        tokens=token_cache[rec["doc_id"]])
        if window is None:
            continue
        if base in ("swde", "fda"):
            upper = capitalize_key(key)
            context = clean_context(window.text, [key + ":"])
            prompt = jrt_prompt(context, upper + ":",
                                question=f"Information about {upper}." if passes > 1 else None,
                                passes=passes)
        else:
            cue = qa_cue(question)
            context = clean_context(window.text, [cue])
            prompt = jrt_prompt(context, cue, question=question if passes > 1 else None, passes=passes)
        yield Example(
            task=task_label,
            doc_id=rec["doc_id"],
            prompt=prompt,
            answers=answers,
            context=context,
            question=question,
            passes=passes,
            n_context_tokens=window.n_tokens,
            anchor_found=window.anchor_found,
            answer_in_window=any(find_anchor(context, [a]) >= 0 for a in answers),
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
