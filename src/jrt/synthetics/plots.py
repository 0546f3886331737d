"""Tables and plots of synthetic results: accuracy vs state bytes per model/variant; set
disjointness accuracy by set order (short set first vs long set first), as the paper's Figure 2.

Each point is the best accuracy over learning rates and seeds at one (model label, state size),
as in `synthetic/zoology/analysis/jrt_plot.py`; where a point has several runs, `runs_by_seed.png`
shows every run, so that a lucky seed cannot pass for a reliable result.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from .model_factory import fmt_bytes

_ORDERS = ("short_first", "long_first")
_ORDER_TITLES = {"short_first": "short A, long B (|A| < |B|)", "long_first": "long A, short B (|A| > |B|)"}


def order_accuracy(result: dict) -> dict:
    """Set disjointness: accuracy pooled over the test slices of each order."""
    acc = defaultdict(lambda: [0.0, 0])
    for s in result.get("slices", {}).values():
        order = s.get("meta", {}).get("order")
        if order:
            acc[order][0] += s["accuracy"] * s["n"]
            acc[order][1] += s["n"]
    return {k: v[0] / v[1] for k, v in acc.items() if v[1]}


def kv_accuracy(result: dict) -> dict:
    """MQAR: accuracy per test slice, keyed (seq_len, num_kv_pairs)."""
    acc = {}
    for s in result.get("slices", {}).values():
        m = s.get("meta", {})
        if "num_kv_pairs" in m:
            acc[(m["seq_len"], m["num_kv_pairs"])] = s["accuracy"]
    return dict(sorted(acc.items()))


def best_by_state(results: list[dict], metric) -> dict:
    """{label: {state_bytes: best metric value over lr and seed}} (metric: result -> float or None)."""
    out: dict = defaultdict(dict)
    for r in results:
        if "error" in r:
            continue
        v = metric(r)
        if v is None:
            continue
        cur = out[r["label"]].get(r["state_bytes"])
        out[r["label"]][r["state_bytes"]] = v if cur is None else max(cur, v)
    return out


def _label_rank(lbl: str):
    rank = {"Attention": 0, "Based": 1, "JRT-RNN": 3, "Mamba2": 4, "GLA": 6}
    base = lbl.split(" + ")[0].split(" (")[0]
    return (rank.get(base, 9) + (0.5 if "JRT-Prompt" in lbl else 0), lbl)


def _label_order(labels):
    return sorted(labels, key=_label_rank)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _style(label: str) -> dict:
    colors = {"Attention": "black", "Based": "tab:blue", "JRT-RNN": "tab:red", "Mamba2": "tab:green", "GLA": "tab:purple"}
    base = label.split(" + ")[0].split(" (")[0]
    return {"color": colors.get(base, "tab:gray"), "linestyle": "--" if "JRT-Prompt" in label else "-",
            "marker": "o" if "JRT-Prompt" not in label else "s"}


def plot_mqar(results: list[dict], path: str | Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in results if r.get("task_kind") == "mqar" and "error" not in r]
    if not results:
        return None
    kvs = sorted({k for r in results for k in kv_accuracy(r)})
    panels = [(f"seq len {t}, {n} kv pairs", (t, n)) for t, n in kvs]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, kv) in zip(axes[0], panels):
        metric = lambda r, kv=kv: kv_accuracy(r).get(kv)  # noqa: E731
        # attention's state grows with length: its points are the KV cache at the test length
        data = best_by_state(results, metric)
        for label in _label_order(data):
            pts = sorted(data[label].items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **_style(label))
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("state (bytes, fp32)")
        ax.set_title(f"MQAR: {title}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy (best over lr, seed)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_set_disjointness(results: list[dict], path: str | Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in results if r.get("task_kind") == "set_disjointness" and "error" not in r]
    if not results:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    per_order = {o: best_by_state(results, lambda r, o=o: order_accuracy(r).get(o)) for o in _ORDERS}
    for ax, order in zip(axes[:2], _ORDERS):
        data = per_order[order]
        for label in _label_order(data):
            pts = sorted(data[label].items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **_style(label))
        ax.set_title(f"Set disjointness: {_ORDER_TITLES[order]}", fontsize=9)
    ax = axes[2]
    for label in _label_order(per_order["short_first"]):
        s, lng = per_order["short_first"][label], per_order["long_first"].get(label, {})
        pts = sorted((b, s[b] - lng[b]) for b in s if b in lng)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **_style(label))
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_title("difference: short-first minus long-first", fontsize=9)
    for i, ax in enumerate(axes):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("state (bytes, fp32)")
        ax.grid(alpha=0.3)
        if i < 2:
            ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("accuracy (best over lr, seed)")
    axes[1].legend(fontsize=7)
    return _save(fig, path)


def runs_by_config(results: list[dict]) -> dict:
    """{(label, state_bytes): [overall accuracy of each run (seed, lr)]}, sorted by label then state."""
    out: dict = defaultdict(list)
    for r in results:
        if "error" not in r:
            out[(r["label"], r["state_bytes"])].append(r["accuracy"])
    return dict(sorted(out.items(), key=lambda kv: (_label_rank(kv[0][0]), kv[0][1])))


def plot_runs_by_seed(results: list[dict], path: str | Path) -> Path | None:
    """Every run as a dot (not the best over seeds): shows how seed-dependent learning is.

    Written only when some (model, state) point has more than one run."""
    groups = runs_by_config(results)
    if not groups or max(len(v) for v in groups.values()) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 0.75 * len(groups) + 1.5), 3.8))
    for i, ((label, _state), accs) in enumerate(groups.items()):
        style = _style(label)
        xs = [i + 0.08 * (j - (len(accs) - 1) / 2) for j in range(len(accs))]
        ax.scatter(xs, accs, color=style["color"], marker=style["marker"], s=28, zorder=3)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{lbl}\n{fmt_bytes(st)}" for lbl, st in groups], rotation=60, ha="right", fontsize=7)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy (each dot one run)")
    ax.set_title("every run, by model and state (seeds / learning rates not pooled)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def results_table(results: list[dict]) -> str:
    """One row per run label and state size (best over lr/seed), with per-slice accuracies."""
    rows = []
    by_key: dict = {}
    for r in results:
        if "error" in r:
            rows.append(f"{r.get('name')}: ERROR {r['error']}")
            continue
        key = (r.get("task_kind"), r["label"], r["state_bytes"], r["model"]["d_model"], r["model"]["feature_dim"],
               r.get("group", ""))
        if key not in by_key or r["accuracy"] > by_key[key]["accuracy"]:
            by_key[key] = r
    kinds = sorted({k[0] for k in by_key})
    for kind in kinds:
        sub = {k: v for k, v in by_key.items() if k[0] == kind}
        if kind == "mqar":
            cols = sorted({n for r in sub.values() for n in kv_accuracy(r)})
            head = (f"{'model':28s} {'d':>4s} {'F':>3s} {'state':>10s} {'acc':>6s} "
                    + " ".join(f"{f'T{c[0]}/kv{c[1]}':>10s}" for c in cols))
            rows += ["MQAR", head, "-" * len(head)]
            for k in sorted(sub, key=lambda k: (k[5], _label_rank(k[1]), k[2])):
                r = sub[k]
                per = kv_accuracy(r)
                rows.append(f"{k[1]:28s} {k[3]:4d} {k[4]:3d} {fmt_bytes(k[2]):>10s} {r['accuracy']:6.3f} "
                            + " ".join(f"{per.get(c, float('nan')):10.3f}" for c in cols))
        else:
            head = f"{'model':28s} {'d':>4s} {'F':>3s} {'state':>10s} {'acc':>6s} {'short1st':>8s} {'long1st':>8s}"
            rows += ["set disjointness", head, "-" * len(head)]
            for k in sorted(sub, key=lambda k: (_label_rank(k[1]), k[2])):
                r = sub[k]
                o = order_accuracy(r)
                rows.append(f"{k[1]:28s} {k[3]:4d} {k[4]:3d} {fmt_bytes(k[2]):>10s} {r['accuracy']:6.3f} "
                            f"{o.get('short_first', float('nan')):8.3f} {o.get('long_first', float('nan')):8.3f}")
        rows.append("")
    return "\n".join(rows)


def make_report(results: list[dict], out_dir: str | Path) -> dict:
    """Write results.json, table.txt and the plots into out_dir; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    table = results_table(results)
    (out / "table.txt").write_text(table)
    paths = {"results": str(out / "results.json"), "table": str(out / "table.txt")}
    try:
        p = plot_mqar(results, out / "mqar_accuracy_vs_state.png")
        if p:
            paths["mqar_plot"] = str(p)
        p = plot_set_disjointness(results, out / "set_disjointness_by_order.png")
        if p:
            paths["sd_plot"] = str(p)
        p = plot_runs_by_seed(results, out / "runs_by_seed.png")
        if p:
            paths["seed_plot"] = str(p)
    except ImportError as exc:  # matplotlib missing: JSON and table are still written
        paths["plots"] = f"skipped ({exc}); install matplotlib and run `jrt synth --plot {out}`"
    return paths
