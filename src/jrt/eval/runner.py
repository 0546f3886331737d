"""Run the JRT recall tasks through lm-evaluation-harness and tabulate default vs JRT-Prompt."""
from __future__ import annotations

import gzip
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jrt.tasks import BASE_TASKS, TASK_NAMES, parse_task_name, resolve_data_dir, resolve_source, wilson_interval

__all__ = ["TASKS_DIR", "normalize_tasks", "make_task_manager", "run_eval", "results_table",
           "validate_eval_args", "prepare_out_dir", "copy_required_table"]

OUTPUT_FILES = ("results.json", "table.md")  # plus samples_<task>.jsonl.gz


def validate_eval_args(limit=None, batch_size=8, max_gen_toks=None, context_length=1000, answer_length=50,
                       max_length=None, nq_size=1024) -> None:
    """Raise ValueError naming the valid range for the first out-of-range argument."""
    checks = [("limit", limit, 1, True), ("max_gen_toks", max_gen_toks, 1, True),
              ("context_length", context_length, 2, False), ("answer_length", answer_length, 0, False),
              ("max_length", max_length, 2, True)]
    if not str(batch_size).startswith("auto"):
        checks.append(("batch_size", batch_size, 1, False))
    for name, value, low, optional in checks:
        if value is None and optional:
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}") from None
        if number < low or str(number) != str(value).strip():
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if answer_length >= context_length:
        raise ValueError(f"answer_length ({answer_length}) must be below context_length ({context_length})")
    if nq_size not in (512, 1024, 2048):
        raise ValueError(f"nq_size must be 512, 1024 or 2048, got {nq_size!r}")


def prepare_out_dir(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Create ``out``; refuse one holding an earlier run's results unless ``overwrite`` (which then
    removes the earlier results.json, table.md and sample files, so no stale task remains)."""
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {str(out_dir)!r} is a file, not a folder")
    used = [p for p in out_dir.glob("*") if p.name in OUTPUT_FILES or p.name.startswith("samples_")] \
        if out_dir.is_dir() else []
    if used and not overwrite:
        raise ValueError(f"output folder {str(out_dir)!r} already holds results ({len(used)} files, e.g. "
                         f"{used[0].name}); pass --overwrite to replace them or choose another --out")
    for path in used:
        path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir

TASKS_DIR = Path(__file__).resolve().parent / "tasks"


def available_tasks(source: str | None = None) -> list[str]:
    """Task names (with ``_twice``) that ``source`` has data for (all of them when None)."""
    from jrt.tasks.sources import HUB_ONLY, LOCAL_ONLY

    skip = HUB_ONLY if source == "local" else LOCAL_ONLY if source == "hub" else ()
    return [t for t in TASK_NAMES if parse_task_name(t)[0] not in skip]


def normalize_tasks(tasks: str | Sequence[str], source: str | None = None) -> list[str]:
    """``"swde,swde_twice"`` or ``["jrt_swde"]`` -> lm-eval names ``["jrt_swde", ...]``.

    ``all`` / ``jrt_recall`` expand to every task that ``source`` has data for, with its twice
    variant; ``BASE+`` (e.g. ``swde+``) to both variants. Unknown names raise ValueError listing
    the known ones.
    """
    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(",")]
    out: list[str] = []
    for raw in tasks:
        name = raw.strip()
        if not name:
            continue
        if name in ("all", "jrt_recall"):
            names = available_tasks(source)
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
                      max_examples: int | None = None, source: str | None = None, nq_size: int = 1024):
    """A TaskManager over the shipped task folder, with the truncation settings as task metadata."""
    from lm_eval.tasks import TaskManager

    source = resolve_source(source, data_dir)
    root = resolve_data_dir(data_dir, required=source == "local")
    metadata: dict[str, Any] = {
        "tokenizer": str(tokenizer),
        "data_dir": str(root) if root is not None else "",
        "context_length": int(context_length),
        "answer_length": int(answer_length),
        "source": source,
        "nq_size": int(nq_size),
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


def copy_required_table(stats: dict[str, dict[str, Any]]) -> str:
    """Markdown: per task, contains on all examples and on the copy-required ones, with 95% Wilson
    intervals (``stats[task] = {"all": {...}, "copy_required": {...}}`` as in results.json)."""
    lines = ["| task | n all | all % [95% CI] | n copy-required | copy-required % [95% CI] | empty answers % "
             "| copy-required after a leading blank % |",
             "|---|---|---|---|---|---|---|"]

    def cell(s: dict) -> str:
        if not s["n"]:
            return ""
        lo, hi = s["ci95"]
        return f"{100 * s['contains']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"

    for task, st in stats.items():
        empty = f"{100 * st['empty_answers']:.1f}" if "empty_answers" in st else ""
        blank = cell(st["after_blank"]["copy_required"]) if "copy_required" in st.get("after_blank", {}) else ""
        lines.append(f"| {task} | {st['all']['n']} | {cell(st['all'])} | {st['copy_required']['n']} | "
                     f"{cell(st['copy_required'])} | {empty} | {blank} |")
    lines += ["", "copy-required: no gold answer occurs (case-insensitively) anywhere in the training corpus.",
              "after a leading blank: the same greedy continuation with leading whitespace/newlines skipped "
              "before the cut at the first newline (a diagnostic beside the paper's metric, native backend)."]
    return "\n".join(lines) + "\n"


def _proportion(scores: Sequence[int]) -> dict[str, Any]:
    n, k = len(scores), int(sum(scores))
    return {"n": n, "contains": k / n if n else float("nan"), "ci95": list(wilson_interval(k, n))}


def _copy_required_stats(samples: dict[str, list[dict]], train_corpus: Sequence[str]) -> dict[str, dict]:
    """Tag every sample row ``copy_required`` (in place) and aggregate per task."""
    from jrt.tasks.copy_required import copy_required_values

    values = [a for rows in samples.values() for r in rows for a in r["answers"]]
    absent = copy_required_values(values, train_corpus)
    stats = {}
    for task, rows in samples.items():
        for r in rows:
            r["copy_required"] = all(absent.get(a.strip(), True) for a in r["answers"] if a.strip())
        stats[task] = {"all": _proportion([r["contains"] for r in rows]),
                       "copy_required": _proportion([r["contains"] for r in rows if r["copy_required"]])}
    return stats


def run_eval(model: str, tokenizer: str | None, tasks: str | Sequence[str], context_length: int = 1000,
             answer_length: int = 50, limit: int | None = None, batch_size: int | str = 8,
             device: str | None = None, out: str | os.PathLike | None = None, prefix_fill: str = "pad",
             data_dir: str | os.PathLike | None = None, dtype: str | None = None,
             max_length: int | None = None, log_samples: bool | str = "brief",
             max_gen_toks: int | None = None, backend: str = "auto", source: str | None = None,
             nq_size: int = 1024, train_corpus: Sequence[str | os.PathLike] | None = None,
             overwrite: bool = False, seed: int = 0) -> dict[str, Any]:
    """Evaluate ``model`` (folder or preset) on ``tasks``; write ``results.json``, ``table.md``
    and per-task ``samples_<task>.jsonl.gz`` under ``out``. Returns the summary dict.

    ``backend``: ``"lm-eval"`` (lm_eval.simple_evaluate over the shipped task folder),
    ``"native"`` (the same examples, generation and metric without lm-eval), or ``"auto"``
    (lm-eval if importable). ``source``: ``"local"`` data layout or ``"hub"`` datasets (default:
    local when a data root is given). ``limit`` caps the examples per task (SWDE/FDA: stratified
    over all held-out documents with ``seed``). ``train_corpus``: training text files/folders;
    each example is tagged ``copy_required`` (no gold answer in that text) and contains is
    reported on all and on copy-required examples with 95% Wilson intervals. ``out`` must not hold
    an earlier run's results unless ``overwrite``. ``log_samples``: ``"brief"`` (per example:
    doc_id, answers, generation, contains, the prompt's last 300 characters), ``"full"`` or ``"none"``.
    """
    log_samples = {True: "full", False: "none", None: "none"}.get(log_samples, log_samples)  # type: ignore[arg-type]
    if log_samples not in ("brief", "full", "none"):
        raise ValueError(f"log_samples must be brief, full or none, got {log_samples!r}")
    if backend not in ("auto", "lm-eval", "native"):
        raise ValueError(f"backend must be auto, lm-eval or native, got {backend!r}")
    validate_eval_args(limit, batch_size, max_gen_toks, context_length, answer_length, max_length, nq_size)
    source = resolve_source(source, data_dir)
    task_names = normalize_tasks(tasks, source)
    data_root = resolve_data_dir(data_dir, required=source == "local")  # fail early, clearly
    from jrt.models.convert import default_tokenizer, is_hub_id

    if source == "local" and not is_hub_id(model):  # nothing is fetched: keep transformers/datasets from trying
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if train_corpus:
        from jrt.tasks.copy_required import corpus_files

        corpus_files(train_corpus)  # a missing corpus fails before the model loads
    out_dir = prepare_out_dir(out, overwrite) if out is not None else None
    if backend == "auto":
        backend = "lm-eval" if lm_eval_available() else "native"
    if not tokenizer:
        tokenizer = default_tokenizer(model)   # the model folder; GPT-2 for the paper's checkpoints
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
        manager = make_task_manager(str(tokenizer), data_root, context_length, answer_length,
                                    max_examples=limit, source=source, nq_size=nq_size)
        raw = lm_eval.simple_evaluate(model=lm, tasks=task_names, task_manager=manager, limit=limit,
                                      log_samples=log_samples != "none" or bool(train_corpus),
                                      bootstrap_iters=0, num_fewshot=0,
                                      gen_kwargs={"max_gen_toks": gen_toks} if max_gen_toks else None)
        model_info = lm.get_model_info()
        scores = {t: float(raw["results"][t]["contains,none"]) for t in task_names if t in raw["results"]}
        counts = {t: int(raw.get("n-samples", {}).get(t, {}).get("effective", 0)) for t in task_names}
        records = raw.pop("samples", None) or {}
        samples = {task: [{"doc_id": r["doc"]["doc_id"], "answers": r["doc"]["answers"],
                           "generation": r["filtered_resps"][0], "contains": r["contains"],
                           "n_context_tokens": r["doc"]["n_context_tokens"],
                           **({"prompt": r["doc"]["prompt"], "lm_eval": r} if log_samples == "full"
                              else {"prompt_tail": r["doc"]["prompt"][-300:]})} for r in rows]
                   for task, rows in records.items()}
        engine_version = f"lm_eval {getattr(lm_eval, '__version__', 'unknown')}"
    else:
        from jrt.eval.generation import Generator
        from jrt.tasks import contains_score, iter_task

        gen = Generator(str(model), tokenizer=str(tokenizer), prefix_fill=prefix_fill, device=device,
                        dtype=dtype, batch_size=batch, max_length=max_length)
        examples = {t: list(iter_task(t, gen.tokenizer, data_dir=data_root, context_length=context_length,
                                      answer_length=answer_length, limit=limit, source=source,
                                      nq_size=nq_size, seed=seed)) for t in task_names}
        flat = [(t, i) for t in task_names for i in range(len(examples[t]))]
        outputs = gen.generate_all([examples[t][i].prompt for t, i in flat], until=["\n"],
                                   max_gen_toks=gen_toks)
        model_info = gen.info()
        samples = {t: [] for t in task_names}
        for (t, i), answer in zip(flat, outputs):
            ex = examples[t][i]
            row = {"doc_id": ex.doc_id, "answers": ex.answers, "generation": answer.text,
                   "contains": contains_score(answer.text, ex.answers),
                   "generation_after_blank": answer.after_blank,
                   "contains_after_blank": contains_score(answer.after_blank, ex.answers),
                   "n_context_tokens": ex.n_context_tokens, "answer_in_window": bool(ex.answer_in_window)}
            row.update({"prompt": ex.prompt} if log_samples == "full" else {"prompt_tail": ex.prompt[-300:]})
            samples[t].append(row)
        counts = {t: len(samples[t]) for t in task_names}
        scores = {t: (sum(r["contains"] for r in samples[t]) / counts[t]) if counts[t] else float("nan")
                  for t in task_names}
        raw = {"results": {t: {"contains,none": scores[t], "n": counts[t]} for t in task_names}}
        engine_version = "native (jrt.tasks + jrt.eval.generation)"
    stats = _copy_required_stats(samples, [str(p) for p in train_corpus]) if train_corpus else {
        t: {"all": _proportion([r["contains"] for r in rows])} for t, rows in samples.items()}
    for t, rows in samples.items():  # a model that answers with an empty line scores 0 without guessing
        stats[t]["empty_answers"] = sum(not str(r["generation"]).strip() for r in rows) / len(rows) if rows else 0.0
        if rows and "contains_after_blank" in rows[0]:  # native backend: the answer after a leading blank
            stats[t]["after_blank"] = {
                group: _proportion([r["contains_after_blank"] for r in rows
                                    if group == "all" or r.get("copy_required", True)])
                for group in (("all", "copy_required") if "copy_required" in stats[t] else ("all",))}
    summary = {
        "model": str(model), "tokenizer": str(tokenizer), "backend": backend, "engine": engine_version,
        "source": source, "tasks": task_names, "context_length": context_length,
        "answer_length": answer_length, "limit": limit, "seed": seed, "prefix_fill": prefix_fill,
        "max_gen_toks": gen_toks, "batch_size": batch, "nq_size": nq_size,
        "data_dir": str(data_root) if data_root is not None else None,
        "train_corpus": [str(p) for p in train_corpus] if train_corpus else None,
        "model_info": model_info, "contains": scores, "n": counts, "stats": stats,
        "seconds": round(time.time() - start, 1),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if torch_cuda_name():
        summary["device_name"] = torch_cuda_name()
    table = results_table(scores, counts, title=f"{model} (context {context_length} tokens)")
    if train_corpus:
        table += "\n" + copy_required_table(stats)
    summary["table"] = table
    if out_dir is not None:
        payload = {"summary": summary, "raw": _jsonable(raw)}
        (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str))
        (out_dir / "table.md").write_text(table)
        if log_samples != "none":
            for task, rows in samples.items():
                with gzip.open(out_dir / f"samples_{task}.jsonl.gz", "wt", encoding="utf-8") as handle:
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
