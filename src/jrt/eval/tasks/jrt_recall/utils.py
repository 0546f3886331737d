"""lm-eval glue for the JRT recall tasks: the documents come from `jrt.tasks`.

lm-eval 0.4.13 calls ``custom_dataset(**metadata)`` where ``metadata`` is the task yaml's metadata
merged with the TaskManager's (``TaskManager(metadata=...)``, ``simple_evaluate(metadata=...)``,
``lm_eval --metadata '{...}'``; ``simple_evaluate`` also merges ``model_args`` in when it builds the
TaskManager itself). Recognised keys:

    tokenizer       tokenizer folder/name used for truncation (else $JRT_TOKENIZER, else
                    model_args' `pretrained`): must be the evaluated model's tokenizer
    data_dir        data root (else $JRT_DATA_DIR); with source hub, where local mirrors live
    source          local | hub (default: local when a data root is given, else hub)
    nq_size         hub NQ rows: 512, 1024 (default) or 2048
    seed            seed of the SWDE/FDA stratified sample under max_examples (default 0)
    context_length  default 1000 (else $JRT_CONTEXT_LENGTH)
    answer_length   default 50
    max_examples    stop building after this many documents (fast smoke runs; use with --limit)
"""
from __future__ import annotations

import functools
from typing import Any

from jrt import env
from jrt.tasks import contains_score, iter_task


@functools.lru_cache(maxsize=8)
def _load_tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(
            f"jrt recall tasks: could not load tokenizer {name!r} for truncation ({exc}); pass the "
            "evaluated model's tokenizer as metadata `tokenizer=...` or $JRT_TOKENIZER"
        ) from exc


def _resolve_tokenizer(meta: dict[str, Any]):
    name = meta.get("tokenizer") or env.get("JRT_TOKENIZER") or meta.get("pretrained")
    if not name or not isinstance(name, str):
        raise ValueError(
            "jrt recall tasks need the evaluated model's tokenizer to truncate contexts: pass "
            "metadata {'tokenizer': PATH} (lm_eval --metadata or TaskManager(metadata=...)), "
            "model_args tokenizer=PATH, or set $JRT_TOKENIZER"
        )
    return _load_tokenizer(name)


def _build(task_name: str, **meta: Any):
    import datasets

    tokenizer = _resolve_tokenizer(meta)
    context_length = int(meta.get("context_length") or env.get("JRT_CONTEXT_LENGTH"))
    answer_length = int(meta.get("answer_length") or 50)
    max_examples = meta.get("max_examples")
    max_examples = int(max_examples) if max_examples not in (None, "", 0, "0") else None
    rows = []
    for ex in iter_task(task_name, tokenizer, data_dir=meta.get("data_dir") or None,
                        context_length=context_length, answer_length=answer_length,
                        limit=max_examples, source=meta.get("source") or None,
                        nq_size=int(meta.get("nq_size") or 1024), seed=int(meta.get("seed") or 0)):
        rows.append({
            "doc_id": ex.doc_id,
            "prompt": ex.prompt,
            "answers": ex.answers,
            "question": ex.question,
            "n_context_tokens": ex.n_context_tokens,
            "answer_in_window": ex.answer_in_window,
        })
    if not rows:
        raise ValueError(f"task {task_name!r} built no documents (check data_dir and max_examples)")
    return {"test": datasets.Dataset.from_list(rows, split=datasets.Split.TEST)}


def swde(**meta):
    return _build("swde", **meta)


def swde_twice(**meta):
    return _build("swde_twice", **meta)


def fda(**meta):
    return _build("fda", **meta)


def fda_twice(**meta):
    return _build("fda_twice", **meta)


def squad(**meta):
    return _build("squad", **meta)


def squad_twice(**meta):
    return _build("squad_twice", **meta)


def nq(**meta):
    return _build("nq", **meta)


def nq_twice(**meta):
    return _build("nq_twice", **meta)


def triviaqa(**meta):
    return _build("triviaqa", **meta)


def triviaqa_twice(**meta):
    return _build("triviaqa_twice", **meta)


def drop(**meta):
    return _build("drop", **meta)


def drop_twice(**meta):
    return _build("drop_twice", **meta)


def kv_retrieval(**meta):
    return _build("kv_retrieval", **meta)


def kv_retrieval_twice(**meta):
    return _build("kv_retrieval_twice", **meta)


def doc_to_text(doc: dict) -> str:
    return doc["prompt"]


def doc_to_target(doc: dict) -> str:
    return doc["answers"][0]


def process_results(doc: dict, results: list[str]) -> dict[str, int]:
    return {"contains": contains_score(results[0], doc["answers"])}
