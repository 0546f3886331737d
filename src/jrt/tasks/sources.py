"""Where task records come from: the local data layout, or the paper's processed hub datasets.

Every loader yields plain records with the same keys, whatever the source:

    doc_id, text        the document/context that truncation cuts (field named by the official task)
    anchors             strings whose earliest match centres the window ([] = keep the start)
    answers             gold strings for ``contains``
    question            SWDE/FDA: the attribute name; QA: the cue the model completes
    orig_question       the natural question the twice prompt puts first (QA; may be "")
    style               which official prompt builder applies (see :mod:`jrt.tasks.prompts`)

``source="local"`` reads the data layout of docs/EVAL.md under a data root. ``source="hub"``
reads HazyResearch's processed datasets by their hub names (:data:`HUB_DATASETS`, split
``validation``) through ``datasets``, from ``<data root>/<hub name>/`` when that local mirror
exists, else from the hub (or its cache). Fields are used as the official lm-eval task files use
them: SQuAD's ``text`` (context + cloze statement) and ``value``; NQ/TriviaQA/DROP's ``context``,
cloze ``question``, ``orig_question`` and ``answers``; SWDE's ``text`` cut at its "Summary of
information above..." tail.
"""
from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

__all__ = ["HUB_DATASETS", "HUB_SPLIT", "NQ_HUB_SIZES", "hub_dataset_name", "load_hub_rows",
           "local_records", "hub_records", "read_jsonl", "read_ids"]

HUB_SPLIT = "validation"
HUB_DATASETS = {
    "swde": "hazyresearch/based-swde-v2",
    "fda": "hazyresearch/based-fda",
    "squad": "hazyresearch/based-squad",
    "nq": "hazyresearch/based_nq_{size}",
    "triviaqa": "hazyresearch/based_triviaqa",
    "drop": "hazyresearch/based_drop",
}
NQ_HUB_SIZES = (512, 1024, 2048)   # based_nq_<size>: NQ passages pre-cut to that many tokens
SWDE_SUMMARY = "Summary of information above..."
LOCAL_ONLY = ("kv_retrieval",)
HUB_ONLY = ("triviaqa", "drop")


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"missing data file {str(path)!r} (docs/EVAL.md gives the layout)")
    return path


def read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(_require(path), "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                yield json.loads(line)


def read_ids(path: Path) -> list[str]:
    with open(_require(path), encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def _dedup(strings) -> list[str]:
    out: list[str] = []
    for s in strings:
        s = (s or "").strip()
        if s and s not in out:
            out.append(s)
    return out


# ----------------------------------------------------------------------------- local layout

_KV_FILES = {"swde": ("swde/swde_book_docs.jsonl.gz", "swde/swde_book_kv.jsonl.gz", "swde/eval_doc_ids.txt"),
             "fda": ("fda/fda_docs.jsonl.gz", "fda/fda_kv.jsonl.gz", "fda/eval_doc_ids.txt")}


def _local_kv(root: Path, base: str) -> Iterator[dict]:
    """One record per (held-out document, attribute), documents in file order."""
    docs_path, kv_path, ids_path = _KV_FILES[base]
    wanted = set(read_ids(root / ids_path))
    kvs: dict[str, list[tuple[str, str]]] = {}
    for row in read_jsonl(root / kv_path):
        if row["doc_id"] in wanted:
            kvs.setdefault(row["doc_id"], []).append((row["key"], row["value"]))
    seen = 0
    for row in read_jsonl(root / docs_path):
        if row["doc_id"] not in wanted:
            continue
        for key, value in kvs.get(row["doc_id"], []):
            value = value.strip()
            yield {"doc_id": row["doc_id"], "text": row["text"], "anchors": [key, value], "answers": [value],
                   "question": key, "orig_question": "", "style": base}
        seen += 1
        if seen == len(wanted):
            break


def _local_qa(root: Path, base: str) -> Iterator[dict]:
    if base == "squad":
        for row in read_jsonl(root / "squad" / "squad_v2.0_dev.jsonl.gz"):
            if row.get("is_impossible") or not row.get("answers"):
                continue
            yield {"doc_id": row["id"], "text": row["context"], "answers": _dedup(row["answers"]),
                   "question": row["question"].strip()}
    elif base == "nq":
        for i, row in enumerate(read_jsonl(root / "nq" / "nq_open_oracle.jsonl.gz")):
            ctxs = row.get("ctxs") or []
            gold = next((c for c in ctxs if c.get("isgold")), ctxs[0] if ctxs else None)
            if gold is not None:
                yield {"doc_id": f"nq-{i:05d}", "text": (gold.get("title", "") + "\n" + gold["text"]).strip(),
                       "answers": _dedup(row["answers"]), "question": row["question"].strip()}
    elif base == "kv_retrieval":
        for i, row in enumerate(read_jsonl(root / "kv_retrieval" / "kv-retrieval-75_keys.jsonl.gz")):
            records = {k: v for k, v in row["ordered_kv_records"]}
            yield {"doc_id": f"kv75-{i:04d}", "text": "JSON data:\n" + json.dumps(records, indent=1),
                   "question": f'What is the value of key "{row["key"]}"?', "answers": [row["value"]],
                   "anchors": [row["key"], row["value"]]}
    else:
        raise ValueError(f"task {base!r} has no local data (HazyResearch's rows only): use source='hub'")


def local_records(root: Path, base: str) -> Iterator[dict]:
    """Records of ``base`` from the local data layout under ``root``."""
    if base in _KV_FILES:
        yield from _local_kv(root, base)
        return
    for rec in _local_qa(root, base):
        rec["answers"] = [a for a in rec["answers"] if len(a) > 1]  # <= 1 character drops (paper)
        if not rec["answers"]:
            continue
        rec.setdefault("anchors", rec["answers"])
        rec["orig_question"] = rec["question"]
        rec["style"] = "qa_local"
        yield rec


# ----------------------------------------------------------------------------- hub datasets

def hub_dataset_name(base: str, nq_size: int = 1024) -> str:
    if base not in HUB_DATASETS:
        raise ValueError(f"task {base!r} has no hub dataset (hub tasks: {', '.join(HUB_DATASETS)})")
    if base == "nq" and nq_size not in NQ_HUB_SIZES:
        raise ValueError(f"nq_size must be one of {NQ_HUB_SIZES}, got {nq_size!r}")
    return HUB_DATASETS[base].format(size=nq_size)


def load_hub_rows(name: str, root: Path | None = None, split: str = HUB_SPLIT):
    """The ``split`` rows of hub dataset ``name``: from ``root/name`` when that mirror folder exists,
    else by name through ``datasets`` (hub or cache). Offline without a cached copy is one clear error."""
    try:
        import datasets
    except ImportError as exc:
        raise ValueError("source='hub' needs the `datasets` package (pip install datasets)") from exc
    mirror = root / name if root is not None else None
    if mirror is not None and mirror.is_dir():
        return datasets.load_dataset(str(mirror), split=split)
    offline = bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
    try:
        return datasets.load_dataset(name, split=split)
    except Exception as exc:  # noqa: BLE001 - re-raised as one message naming the way out
        where = f" and no local mirror {str(mirror)!r}" if mirror is not None else ""
        state = "offline (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set)" if offline else "not reachable"
        raise ValueError(f"hub dataset {name!r} could not be loaded: the hub is {state}, it is not in "
                         f"the datasets cache{where} ({type(exc).__name__}); use --source local with "
                         f"--data-dir, or put a mirror of {name} under the data directory") from exc


def hub_records(base: str, root: Path | None = None, nq_size: int = 1024) -> Iterator[dict]:
    """Records of ``base`` from its hub dataset, fields used as the official task files use them."""
    name = hub_dataset_name(base, nq_size)
    for i, row in enumerate(load_hub_rows(name, root)):
        doc_id = str(row.get("doc_id") or row.get("new_id") or row.get("id") or f"{base}-{i:05d}")
        if base in ("swde", "fda"):
            key, value = row["key"], row["value"]
            yield {"doc_id": doc_id, "text": row["text"], "anchors": [key, value], "answers": [value],
                   "question": key, "orig_question": "", "style": base + "_hub" if base == "swde" else base}
        elif base == "squad":
            yield {"doc_id": doc_id, "text": row["text"], "anchors": [row["value"]], "answers": [row["value"]],
                   "question": row["question"], "orig_question": row["question"],
                   "context_full": row["context"], "style": "squad_hub"}
        else:
            answers = [a for a in row["answers"] if a]
            if not answers:
                continue
            # NQ centres the window on its first answer; TriviaQA and DROP keep the start (paper 1.3)
            anchors = [answers[0]] if base == "nq" else []
            yield {"doc_id": doc_id, "text": row["context"], "anchors": anchors, "answers": answers,
                   "question": row["question"], "orig_question": row.get("orig_question") or "",
                   "style": base + "_hub" if base == "nq" else base}


def clean_triviaqa(context: str) -> str:
    """TriviaQA contexts drop their [PAR], [DOC] and [TLE] markers (official task)."""
    return re.sub(r"\[PAR\]|\[DOC\]|\[TLE\]", "", context)
