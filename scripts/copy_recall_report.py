"""Table and learning curves of the copy-recall experiment from its raw files (results/copy_recall).

    python scripts/copy_recall_report.py [--results results/copy_recall] [--plot docs/figures/copy_recall_curves.png]

The table comes from every ``eval/<model>/w<window>_<fill>/results.json``; the learning curves from
the ``recall_probe`` records of ``runs/<model>/log.jsonl`` (teacher-forced exact match of the whole
answer on a fixed held-out subset, jrt.train.probe), copy-required examples only.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

TASK_COLUMNS = ("swde", "swde_twice", "fda", "fda_twice")


def table(results: Path) -> str:
    lines = ["| model | tokens | window | fill | task | all % [95% CI] (n) | copy-required % [95% CI] (n) |",
             "|---|---|---|---|---|---|---|"]
    for f in sorted(results.glob("eval/*/*/results.json")):
        model, cfg = f.parent.parent.name, f.parent.name
        summary = json.loads((results / "runs" / model / "summary.json").read_text()) \
            if (results / "runs" / model / "summary.json").exists() else {}
        stats = json.loads(f.read_text())["summary"]["stats"]
        window, fill = cfg[1:].split("_")
        for task, s in stats.items():
            cells = []
            for group in ("all", "copy_required"):
                g = s[group]
                cells.append(f"{100 * g['contains']:.1f} [{100 * g['ci95'][0]:.1f}, {100 * g['ci95'][1]:.1f}] ({g['n']})")
            lines.append(f"| {model} | {summary.get('tokens', 0) / 1e6:.1f}M | {window} | {fill} | {task} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary_table(results: Path, group: str = "copy_required") -> str:
    """One row per model and prefix fill, one column per (window, task): `group` accuracy, default ->
    JRT-Prompt (twice), n per cell in the header. The compact form docs/RESULTS.md quotes."""
    cells, ns, tokens = {}, {}, {}
    for f in sorted(results.glob("eval/*/*/results.json")):
        model, cfg = f.parent.parent.name, f.parent.name
        window, fill = cfg[1:].split("_")
        summary = results / "runs" / model / "summary.json"
        tokens[model] = json.loads(summary.read_text()).get("tokens", 0) if summary.exists() else 0
        for task, st in json.loads(f.read_text())["summary"]["stats"].items():
            base = task.removeprefix("jrt_").removesuffix("_twice")
            variant = "twice" if task.endswith("_twice") else "default"
            # "after_blank": copy-required, the answer read after a leading newline (evaluations since
            # 2026-12-02; earlier ones lack it and leave the cell empty)
            g = st.get("after_blank", {}).get("copy_required") if group == "after_blank" else st[group]
            if g is None:
                continue
            cells[(model, fill, int(window), base, variant)] = 100 * g["contains"]
            ns[(int(window), base)] = g["n"]
    if not cells:
        return f"no {group} statistics under {results}/eval/*/*/results.json\n"
    windows = sorted({k[2] for k in cells}, reverse=True)
    tasks = sorted({k[3] for k in cells}, key=lambda t: ("swde", "fda").index(t) if t in ("swde", "fda") else 9)
    head = "| model (tokens) | fill | " + " | ".join(f"{t.upper()} {w} (n={ns[(w, t)]})" for w in windows
                                                    for t in tasks) + " |"
    lines = [head, "|---|---|" + "---|" * (len(windows) * len(tasks))]
    for model, fill in sorted({(k[0], k[1]) for k in cells}):
        row = []
        for w in windows:
            for t in tasks:
                d, tw = cells.get((model, fill, w, t, "default")), cells.get((model, fill, w, t, "twice"))
                row.append("" if d is None else f"{d:.1f} -> {tw:.1f}" if tw is not None else f"{d:.1f}")
        lines.append(f"| {model} ({tokens[model] / 1e6:.0f}M) | {fill} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def by_attribute(results: Path, window: int, fill: str = "pad", task: str = "swde") -> str:
    """Copy-required hits / n per attribute (the prompt's final "{Key}:" cue) at one window, default
    prompt, from the per-example samples: which fields the models copy."""
    per_model = {}
    for f in sorted(results.glob(f"eval/*/w{window}_{fill}/samples_jrt_{task}.jsonl.gz")):
        counts = {}
        with gzip.open(f, "rt") as fh:
            for line in fh:
                r = json.loads(line)
                if not r["copy_required"]:
                    continue
                key = r["prompt_tail"].rsplit(". ", 1)[-1].rstrip(":").strip()
                hit, n = counts.get(key, (0, 0))
                counts[key] = (hit + int(r["contains"]), n + 1)
        per_model[f.parent.parent.name] = counts
    keys = sorted({k for c in per_model.values() for k in c})
    lines = [f"| model ({task.upper()} {window}, copy-required) | " + " | ".join(keys) + " |",
             "|---|" + "---|" * len(keys)]
    for model, c in per_model.items():
        lines.append(f"| {model} | " + " | ".join("{}/{}".format(*c.get(k, (0, 0))) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def _eval_configs(results: Path) -> list[Path]:
    """eval/<model>/w<window>_<fill> folders, by model, then by decreasing window, then by fill."""
    def key(p: Path):
        window, fill = p.name[1:].split("_")
        return p.parent.name, -int(window), fill
    return sorted(results.glob("eval/*/w*_*"), key=key)


def _samples(cfg: Path, task: str) -> list[dict] | None:
    f = cfg / f"samples_jrt_{task}.jsonl.gz"
    if not f.exists():
        return None
    with gzip.open(f, "rt") as fh:
        return [json.loads(line) for line in fh]


def _share(hits: int, n: int) -> str:
    return f"{100 * hits / n:.0f}" if n else ""


def empty_answers(results: Path) -> str:
    """Share of empty generations (%) per model, fill, window and task, from the per-example samples:
    a model that answers a cue with a newline scores 0 without having guessed anything."""
    lines = ["| model | window | fill | " + " | ".join(TASK_COLUMNS) + " |", "|---|---|---|" + "---|" * len(TASK_COLUMNS)]
    for cfg in _eval_configs(results):
        window, fill = cfg.name[1:].split("_")
        cells = []
        for task in TASK_COLUMNS:
            rows = _samples(cfg, task)
            cells.append("" if rows is None else _share(sum(not r["generation"].strip() for r in rows), len(rows)))
        lines.append(f"| {cfg.parent.name} | {window} | {fill} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def same_generation(results: Path) -> str:
    """Share of examples (%) whose answer (the greedy continuation up to its first newline, as
    scored) is character-for-character the same with the default prompt and with JRT-Prompt: how
    often reading the document twice changes nothing. Two empty answers are the same answer, so the
    second column of each task counts only examples where at least one of the two is non-empty."""
    lines = ["| model | window | fill | swde | swde, non-empty | fda | fda, non-empty |", "|---|---|---|---|---|---|---|"]
    for cfg in _eval_configs(results):
        window, fill = cfg.name[1:].split("_")
        cells = []
        for task in ("swde", "fda"):
            once, twice = _samples(cfg, task), _samples(cfg, f"{task}_twice")
            if once is None or twice is None:
                cells += ["", ""]
                continue
            if [(r["doc_id"], r.get("answers")) for r in once] != [(r["doc_id"], r.get("answers")) for r in twice]:
                raise SystemExit(f"{cfg}: {task} and {task}_twice samples are not the same examples in the same order")
            pairs = [(a["generation"], b["generation"]) for a, b in zip(once, twice)]
            said = [(a, b) for a, b in pairs if a.strip() or b.strip()]
            cells += [_share(sum(a == b for a, b in pairs), len(pairs)), _share(sum(a == b for a, b in said), len(said))]
        lines.append(f"| {cfg.parent.name} | {window} | {fill} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _copy_required_hits(cfg: Path, task: str):
    """(example keys, 0/1 hits) of the copy-required examples of one samples file, or None."""
    rows = _samples(cfg, task)
    if rows is None:
        return None
    rows = [r for r in rows if r.get("copy_required")]
    return [(r["doc_id"], tuple(r.get("answers") or ())) for r in rows], [int(bool(r["contains"])) for r in rows]


def _mean_hits(per_task: dict) -> float:
    """Copy-required accuracy (%) averaged over the tasks, as the issue's targets average them."""
    return 100 * sum(sum(h) / len(h) for h in per_task.values()) / len(per_task)


def paired_difference(a: dict, b: dict, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Task-averaged accuracy of `a` minus `b` (points) with a 95% paired bootstrap interval.

    a, b: task -> 0/1 hits on the same examples in the same order (two models, or two prompts of one
    model); each replicate resamples every task's examples with replacement, the same indices for both.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    diffs = np.zeros(reps)
    for task in a:
        x, y = np.asarray(a[task], float), np.asarray(b[task], float)
        if x.shape != y.shape or not len(x):
            raise ValueError(f"{task}: paired hits must be non-empty and of one length, got {x.shape} and {y.shape}")
        idx = rng.integers(0, len(x), size=(reps, len(x)))
        diffs += (x[idx] - y[idx]).mean(1)
    diffs *= 100 / len(a)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return _mean_hits(a) - _mean_hits(b), float(lo), float(hi)


def targets(results: Path, tasks=("swde", "fda")) -> str:
    """The experiment's criteria (the issue's "what counts"), per window, from the per-example samples:
    Transformer >= 40% on each task; each recurrent model's hits with their Wilson lower bound per task;
    JRT-Prompt's gain for each recurrent model; JRT-RNN minus Based; Transformer minus JRT-RNN. Gains
    and differences average the tasks' copy-required accuracies, with paired bootstrap intervals over
    the examples (all models and prompts answer the same examples)."""
    from jrt.tasks.scoring import wilson_interval

    hits: dict = {}   # (model, fill, window, variant) -> task -> hits
    keys: dict = {}   # (window, task) -> example keys, the same for every model and prompt
    for cfg in _eval_configs(results):
        window, fill = int(cfg.name[1:].split("_")[0]), cfg.name.split("_")[1]
        for task in tasks:
            for variant, name in (("default", task), ("twice", f"{task}_twice")):
                got = _copy_required_hits(cfg, name)
                if got is None:
                    continue
                k, h = got
                if keys.setdefault((window, task), k) != k:
                    raise SystemExit(f"{cfg}/{name}: not the copy-required examples of the other runs")
                hits.setdefault((cfg.parent.name, fill, window, variant), {})[task] = h
    hits = {k: v for k, v in hits.items() if len(v) == len(tasks)}
    windows = sorted({k[2] for k in hits}, reverse=True)
    runs = sorted({(k[0], k[1]) for k in hits})
    transformer = [r for r in runs if r[0].startswith("hf-llama")]
    based = [r for r in runs if r[0].startswith("based")]
    jrt = [r for r in runs if r[0].startswith("jrt")]
    recurrent = [r for r in runs if r not in transformer]

    def cell(run, window, variant="default"):
        return hits.get((run[0], run[1], window, variant))

    def fmt_diff(d):
        return f"{d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}]"

    lines = ["| criterion | run | " + " | ".join(f"{w} tokens" for w in windows) + " | target |",
             "|---|---|" + "---|" * len(windows) + "---|"]

    def add(criterion, run, values, target):
        lines.append(f"| {criterion} | {run[0]} ({run[1]}) | " + " | ".join(values) + f" | {target} |")

    for run in transformer:
        add("copy-required SWDE / FDA %", run,
            [" / ".join(f"{100 * sum(c[t]) / len(c[t]):.1f}" for t in tasks) if (c := cell(run, w)) else ""
             for w in windows], ">= 40 on each")
    for run in recurrent:
        vals = []
        for w in windows:
            c = cell(run, w)
            # hits / n and the Wilson lower bound (%): any hit puts the bound above 0, so read the bound
            vals.append(" / ".join(f"{sum(c[t])}/{len(c[t])} (>= {100 * wilson_interval(sum(c[t]), len(c[t]))[0]:.1f})"
                                   for t in tasks) if c else "")
        add("copy-required hits SWDE / FDA (95% lower bound, %)", run, vals, "where the recurrent models leave zero")
    distance_file = results / "answer_distance.json"   # scripts/copy_recall_distance.py, default prompt
    if distance_file.exists():
        dist = json.loads(distance_file.read_text())
        for run in runs:
            per_task = dist["hits_n"].get(run[0]) if run[1] == dist.get("fill", "pad") else None
            if not per_task:
                continue
            vals = []
            for w in windows:
                cells = [per_task.get(t, {}).get(str(w)) for t in tasks]
                far = [sum(c[0] for k, c in cell.items() if k not in ("<= 128", "not in prompt")) if cell else None
                       for cell in cells]
                far_n = [sum(c[1] for k, c in cell.items() if k not in ("<= 128", "not in prompt")) if cell else None
                         for cell in cells]
                vals.append(" / ".join(f"{h}/{n}" for h, n in zip(far, far_n)) if None not in far else "")
            add("copy-required hits with the answer > 128 tokens before the end, SWDE / FDA", run, vals,
                "(beyond the sliding windows: only a state can carry these)")
    for run in recurrent + transformer:
        add("JRT-Prompt gain, copy-required average [95% CI]", run,
            [fmt_diff(paired_difference(cell(run, w, "twice"), cell(run, w))) if cell(run, w) and cell(run, w, "twice")
             else "" for w in windows], ">= +5, interval above 0" if run in recurrent else "(none for the Transformer)")
    for j in jrt:
        for b in based:
            add(f"minus {b[0]} ({b[1]}), default prompt", j,
                [fmt_diff(paired_difference(cell(j, w), cell(b, w))) if cell(j, w) and cell(b, w) else ""
                 for w in windows], ">= +10 where the recurrent models leave zero")
        for t in transformer:
            add(f"minus {t[0]} ({t[1]}), default prompt", j,
                [fmt_diff(paired_difference(cell(j, w), cell(t, w))) if cell(j, w) and cell(t, w) else ""
                 for w in windows], ">= -5 there")
    return "\n".join(lines) + "\n"


def learning_curves(results: Path) -> dict:
    """model -> {"tokens": [...], "<task>/<window>": [copy-required accuracy, ...]} from the probe records."""
    curves = {}
    for log in sorted(results.glob("runs/*/log.jsonl")):
        model = log.parent.name
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r.get("kind") == "eval" and "recall_probe" in r]
        # the run's last scheduled probe can land a few steps before the final one: keep the final
        rows = [r for r, nxt in zip(rows, rows[1:] + [None])
                if nxt is None or abs(nxt["tokens"] - r["tokens"]) > 0.005 * r["tokens"]]
        if not rows:
            continue
        curve = {"tokens": [r["tokens"] for r in rows]}
        for key in rows[-1]["recall_probe"]:
            task, window, group = key.split("/")
            if group == "copy_required":
                curve[f"{task}/{window}"] = [r["recall_probe"].get(key, {}).get("acc") for r in rows]
        curves[model] = curve
    return curves


def plot_curves(curves: dict, path: Path) -> None:
    """One panel per window: copy-required accuracy (SWDE and FDA averaged) against training tokens,
    solid for the default prompt, dashed for JRT-Prompt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    windows = sorted({int(k.split("/")[1]) for c in curves.values() for k in c if "/" in k}, reverse=True)
    fig, axes = plt.subplots(1, len(windows), figsize=(4.2 * len(windows), 3.4), sharey=True, squeeze=False)
    for ax, window in zip(axes[0], windows):
        for i, (model, c) in enumerate(sorted(curves.items())):
            tokens = [t / 1e6 for t in c["tokens"]]
            for variant, style in (("", "-"), ("_twice", "--")):
                series = [c.get(f"{task}{variant}/{window}") for task in ("swde", "fda")]
                if any(s is None for s in series):
                    continue
                mean = [100 * (a + b) / 2 for a, b in zip(*series)]
                ax.plot(tokens, mean, style, color=f"C{i}", marker="o", markersize=3,
                        label=f"{model}{' twice' if variant else ''}")
        ax.set_title(f"{window}-token documents")
        ax.set_xlabel("training tokens (M)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("copy-required exact match (%)\nSWDE + FDA mean, probe")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(work: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table(work))
    (out / "curves.json").write_text(json.dumps(learning_curves(work), indent=1) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results/copy_recall")
    parser.add_argument("--plot", default=None, help="write the learning-curve figure (PNG) here")
    parser.add_argument("--summary", choices=("copy_required", "all", "after_blank"), default=None,
                        help="print the compact table (default -> twice per window and task) instead; "
                             "after_blank: copy-required, the answer read after a leading newline")
    parser.add_argument("--by-attribute", type=int, default=None, metavar="WINDOW",
                        help="print copy-required hits per SWDE attribute at this window instead")
    parser.add_argument("--empty", action="store_true", help="print the share of empty answers instead")
    parser.add_argument("--targets", action="store_true",
                        help="print the experiment's criteria per window (paired bootstrap intervals) instead")
    parser.add_argument("--same-as-twice", action="store_true",
                        help="print the share of examples whose answer JRT-Prompt leaves unchanged instead "
                             "(all, and those with a non-empty answer)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    if args.empty:
        sys.stdout.write(empty_answers(results))
    elif args.targets:
        sys.stdout.write(targets(results))
    elif args.same_as_twice:
        sys.stdout.write(same_generation(results))
    elif args.by_attribute:
        sys.stdout.write(by_attribute(results, args.by_attribute))
    else:
        sys.stdout.write(summary_table(results, args.summary) if args.summary else table(results))
    if args.plot:
        curves = learning_curves(results)
        if not curves:
            raise SystemExit(f"no recall_probe records under {results}/runs/*/log.jsonl")
        plot_curves(curves, Path(args.plot))
        print(f"learning curves -> {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
