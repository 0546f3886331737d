"""Run the JRT recall tasks through lm-evaluation-harness and tabulate default vs JRT-Prompt."""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jrt.tasks import BASE_TASKS, TASK_NAMES, parse_task_name, resolve_data_dir

__all__ = ["TASKS_DIR", "normalize_tasks", "make_task_manager", "run_eval", "results_table"]

TASKS_DIR = Path(__file__).resolve().parent / "tasks"


def normalize_tasks(tasks: str | Sequence[str]) -> list[str]:
    """``"swde,swde_twice"`` or ``["jrt_swde"]`` -> lm-eval names ``["jrt_swde", ...]``.

    ``all`` expands to every task and its twice variant; ``BASE+`` (e.g. ``swde+``) to both variants.
    Unknown names raise ValueError listing the known ones.
    """
    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(",")]
    out: list[str] = []
    for raw in tasks:
        name = raw.strip()
        if not name:
            continue
        if name == "all":
            names = list(TASK_NAMES)
        elif name.endswith("+"):
            base, _ = parse_task_name(name[:-1])
            names = [base, base + "_twice"]
        else:
            base, passes = parse_task_name(name)
            names = [base if passes == 1 else base + "_twice"]
        for n in names:
            if "jrt_" + n not in out:
                out.append("jrt_" + n)
    if not out:
        raise ValueError(f"no tasks given; known tasks: {', '.join(TASK_NAMES)}")
    return out


def make_task_manager(tokenizer: str, data_dir: str | os.PathLike | None = None,
                      context_length: int = 1000, answer_length: int = 50,
                      max_examples: int | None = None):
    """A TaskManager over the shipped task folder, with the truncation settings as task metadata."""
    from lm_eval.tasks import TaskManager

    metadata: dict[str, Any] = {
        "tokenizer": str(tokenizer),
        "data_dir": str(resolve_data_dir(data_dir)),
        "context_length": int(context_length),
        "answer_length": int(answer_length),
    }
    if max_examples:
        metadata["max_examples"] = int(max_examples)
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


def _pct(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def results_table(scores: dict[str, float], counts: dict[str, int] | None = None, title: str = "") -> str:
    """Markdown table: task | default | twice | twice - default, plus the average over the tasks
    that have both variants. ``scores`` maps ``jrt_X``/``jrt_X_twice`` to contains in [0, 1]."""
    counts = counts or {}
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += ["| task | n | default | JRT-Prompt (twice) | difference |", "|---|---|---|---|---|"]
    defaults, twices = [], []
    for base in BASE_TASKS:
        d = scores.get(f"jrt_{base}")
        t = scores.get(f"jrt_{base}_twice")
        if d is None and t is None:
            continue
        n = counts.get(f"jrt_{base}", counts.get(f"jrt_{base}_twice", ""))
        diff = f"{100 * (t - d):+.1f}" if d is not None and t is not None else ""
        if d is not None and t is not None:
            defaults.append(d)
            twices.append(t)
        lines.append(f"| {base} | {n} | {_pct(d)} | {_pct(t)} | {diff} |")
    if defaults:
        md, mt = sum(defaults) / len(defaults), sum(twices) / len(twices)
        lines.append(f"| **average** ({len(defaults)} tasks) | | {_pct(md)} | {_pct(mt)} | {100 * (mt - md):+.1f} |")
    lines.append("")
    lines.append("contains accuracy (%): the gold answer occurs case-insensitively in the greedy "
                 "continuation (<= 48 tokens, cut at the first newline).")
    return "\n".join(lines) + "\n"


def lm_eval_available() -> bool:
    try:
        import datasets  # noqa: F401
        import lm_eval  # noqa: F401
    except ImportError:
        return False
    return True


def run_eval(model: str, tokenizer: str | None, tasks: str | Sequence[str], context_length: int = 1000,
             answer_length: int = 50, limit: int | None = None, batch_size: int | str = 8,
             device: str | None = None, out: str | os.PathLike | None = None, prefix_fill: str = "pad",
             data_dir: str | os.PathLike | None = None, dtype: str | None = None,
             max_length: int | None = None, log_samples: bool | str = "brief",
             max_gen_toks: int | None = None, backend: str = "auto") -> dict[str, Any]:
    """Evaluate ``model`` (folder or preset) on ``tasks``; write ``results.json``, ``table.md``
    and per-task ``samples_<task>.jsonl`` under ``out``. Returns the summary dict.

    ``backend``: ``"lm-eval"`` (lm_eval.simple_evaluate over the shipped task folder),
    ``"native"`` (the same examples, generation and metric without lm-eval: for machines where
    lm-eval is not installed), or ``"auto"`` (lm-eval if importable). ``limit`` caps the
    documents per task (lm-eval's ``limit``; also passed as ``max_examples`` so only that many
    documents are built). ``max_gen_toks`` overrides the paper's 48 (smoke tests only).
    ``log_samples``: ``"brief"`` (per example: doc_id, answers, generation, contains, the prompt's
    last 300 characters), ``"full"`` (everything, lm-eval's own sample records on that route) or
    ``"none"``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    log_samples = {True: "full", False: "none", None: "none"}.get(log_samples, log_samples)  # type: ignore[arg-type]
    if log_samples not in ("brief", "full", "none"):
        raise ValueError(f"log_samples must be brief, full or none, got {log_samples!r}")
    if backend not in ("auto", "lm-eval", "native"):
        raise ValueError(f"backend must be auto, lm-eval or native, got {backend!r}")
    if backend == "auto":
        backend = "lm-eval" if lm_eval_available() else "native"
    task_names = normalize_tasks(tasks)
    tokenizer = tokenizer or model
    data_root = resolve_data_dir(data_dir)  # fail early, with a clear message
    gen_toks = int(max_gen_toks) if max_gen_toks else 48
    size = str(batch_size).split(":")[0]
    batch = int(size) if size.isdigit() else 8
    start = time.time()
    samples: dict[str, list[dict]] = {}
    if backend == "lm-eval":
        import lm_eval

        from jrt.eval.models import JRTLM

        lm = JRTLM(pretrained=str(model), tokenizer=str(tokenizer), prefix_fill=prefix_fill, device=device,
                   dtype=dtype, batch_size=batch, max_length=max_length)
        model_info = lm.get_model_info()
        manager = make_task_manager(str(tokenizer), data_root, context_length, answer_length,
                                    max_examples=limit)
        raw = lm_eval.simple_evaluate(model=lm, tasks=task_names, task_manager=manager, limit=limit,
                                      log_samples=log_samples != "none", bootstrap_iters=0, num_fewshot=0,
                                      gen_kwargs={"max_gen_toks": gen_toks} if max_gen_toks else None)
        scores = {t: float(raw["results"][t]["contains,none"]) for t in task_names if t in raw["results"]}
        counts = {t: int(raw.get("n-samples", {}).get(t, {}).get("effective", 0)) for t in task_names}
        samples = raw.pop("samples", None) or {}
        if log_samples == "brief":
            samples = {task: [{"doc_id": r["doc"]["doc_id"], "answers": r["doc"]["answers"],
                               "generation": r["filtered_resps"][0], "contains": r["contains"],
                               "n_context_tokens": r["doc"]["n_context_tokens"],
                               "prompt_tail": r["doc"]["prompt"][-300:]} for r in rows]
                       for task, rows in samples.items()}
        engine_version = f"lm_eval {getattr(lm_eval, '__version__', 'unknown')}"
    else:
        from jrt.eval.generation import Generator
        from jrt.tasks import contains_score, iter_task

        gen = Generator(str(model), tokenizer=str(tokenizer), prefix_fill=prefix_fill, device=device,
                        dtype=dtype, batch_size=batch, max_length=max_length)
        model_info = gen.info()
        examples = {t: list(iter_task(t, gen.tokenizer, data_dir=data_root, context_length=context_length,
                                      answer_length=answer_length, limit=limit)) for t in task_names}
        flat = [(t, i) for t in task_names for i in range(len(examples[t]))]
        outputs = gen.generate_all([examples[t][i].prompt for t, i in flat], until=["\n"],
                                   max_gen_toks=gen_toks)
        scores, counts = {}, {}
        for t in task_names:
            samples[t] = []
        for (t, i), text in zip(flat, outputs):
            ex = examples[t][i]
            score = contains_score(text, ex.answers)
            row = {"doc_id": ex.doc_id, "answers": ex.answers, "generation": text, "contains": score,
                   "n_context_tokens": ex.n_context_tokens}
            if log_samples == "full":
                row["prompt"] = ex.prompt
            else:
                row["prompt_tail"] = ex.prompt[-300:]
            samples[t].append(row)
        for t in task_names:
            rows = samples[t]
            counts[t] = len(rows)
            scores[t] = sum(r["contains"] for r in rows) / len(rows) if rows else float("nan")
        raw = {"results": {t: {"contains,none": scores[t], "n": counts[t]} for t in task_names}}
        engine_version = "native (jrt.tasks + jrt.eval.generation)"
    elapsed = time.time() - start
    summary = {
        "model": str(model),
        "tokenizer": str(tokenizer),
        "backend": backend,
        "engine": engine_version,
        "tasks": task_names,
        "context_length": context_length,
        "answer_length": answer_length,
        "limit": limit,
        "prefix_fill": prefix_fill,
        "max_gen_toks": gen_toks,
        "batch_size": batch,
        "data_dir": str(data_root),
        "model_info": model_info,
        "contains": scores,
        "n": counts,
        "seconds": round(elapsed, 1),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if torch_cuda_name():
        summary["device_name"] = torch_cuda_name()
    table = results_table(scores, counts, title=f"{model} (context {context_length} tokens)")
    summary["table"] = table
    if out is not None:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        payload = {"summary": summary, "raw": _jsonable(raw)}
        (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str))
        (out_dir / "table.md").write_text(table)
        if log_samples != "none":
            for task, rows in samples.items():
                with open(out_dir / f"samples_{task}.jsonl", "w") as handle:
                    for row in rows:
                        handle.write(json.dumps(_jsonable(row), default=str) + "\n")
    return summary


def torch_cuda_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        return None


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
