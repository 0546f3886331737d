"""Copy-required hits by how far the answer sits from the end of the prompt, per model.

A recurrent model of this project sees the last 128 tokens exactly (its sliding-window attention
layers) and everything earlier only through its linear-attention state. So the question for each
copy-required hit is: was the answer inside the last 128 tokens, where the window can copy it, or
further back, where only the state can have carried it? This rebuilds every evaluated prompt
(`jrt.tasks.iter_task`, the evaluation's own sampling: limit and seed as in `scripts/copy_recall.py
eval`), checks it is the example of the saved sample, and measures the distance in tokens from the
start of the gold answer's last occurrence to the end of the prompt. For the misses whose answer
is further back than the window, it also says what the model wrote instead: nothing, a span of the
last 128 tokens (a copy from the window, of the wrong thing), a span from further back, or text
the prompt does not hold.

    python scripts/copy_recall_distance.py --results results/copy_recall_300m --data-root DATA \\
        --windows 256,1000 --out results/copy_recall_300m/answer_distance.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

BUCKETS = ((0, 128, "<= 128"), (129, 256, "129-256"), (257, 10**9, "> 256"))


def answer_distance(prompt: str, answers: list[str], tokenizer) -> int | None:
    """Tokens from the start of the last occurrence (case-insensitive) of any answer to the prompt's
    end, or None when no answer occurs in the prompt."""
    low = prompt.lower()
    starts = [low.rfind(a.strip().lower()) for a in answers if a.strip()]
    start = max(starts, default=-1)
    if start < 0:
        return None
    return len(tokenizer.encode(prompt[start:], add_special_tokens=False))


def bucket(distance: int) -> str:
    return next(name for lo, hi, name in BUCKETS if lo <= distance <= hi)


def evaluated(results: Path, data_root: str, tokenizer, windows: list[int], fill: str = "pad",
              tasks=("swde", "fda"), limit: int = 300):
    """(model, task, window, sample row, gold answers, prompt) for every copy-required example of the
    saved default-prompt samples, each prompt rebuilt and checked to be the evaluated example."""
    from jrt.tasks import iter_task

    prompts: dict = {}
    for cfg in sorted(results.glob(f"eval/*/w*_{fill}")):
        model, window = cfg.parent.name, int(cfg.name[1:].split("_")[0])
        if window not in windows:
            continue
        for task in tasks:
            f = cfg / f"samples_jrt_{task}.jsonl.gz"
            if not f.exists():
                continue
            with gzip.open(f, "rt") as fh:
                rows = [json.loads(line) for line in fh]
            key = (task, window)
            if key not in prompts:
                prompts[key] = [(ex.doc_id, list(ex.answers), ex.prompt) for ex in
                                iter_task(task, tokenizer, data_dir=data_root, context_length=window, limit=limit,
                                          seed=0, source="local")]
            examples = prompts[key]
            if [(r["doc_id"], r["answers"]) for r in rows] != [(d, a) for d, a, _ in examples]:
                raise SystemExit(f"{f}: the rebuilt examples are not the evaluated ones (other data, limit or seed?)")
            for r, (_, answers, prompt) in zip(rows, examples):
                if r.get("copy_required"):
                    yield model, task, window, r, answers, prompt


def distances(results: Path, data_root: str, tokenizer_dir: str, windows: list[int], fill: str = "pad",
              tasks=("swde", "fda"), limit: int = 300, misses: dict | None = None) -> dict:
    """{model: {task: {window: {bucket: [hits, n]}}}} over the copy-required examples, default prompt.
    With a `misses` dict, also fills it with miss_kind counts of the misses whose answer is more than
    WINDOW tokens from the end: {model: {task: {window: {kind: n}}}}."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    out: dict = {}
    for model, task, window, r, answers, prompt in evaluated(results, data_root, tok, windows, fill, tasks, limit):
        d = answer_distance(prompt, answers, tok)
        name = "not in prompt" if d is None else bucket(d)
        cell = out.setdefault(model, {}).setdefault(task, {}).setdefault(str(window), {}).setdefault(name, [0, 0])
        cell[0] += int(bool(r["contains"]))
        cell[1] += 1
        if misses is not None and d is not None and d > WINDOW and not r["contains"]:
            kinds = misses.setdefault(model, {}).setdefault(task, {}).setdefault(str(window), {})
            kind = miss_kind(r.get("generation", ""), prompt, tok)
            kinds[kind] = kinds.get(kind, 0) + 1
    return out


WINDOW = 128                # the sliding-window span of Based and JRT-RNN (GLA has none)
MISS_KINDS = ("empty", "copied from the last 128 tokens", "copied from further back", "not in the prompt")


def miss_kind(generation: str, prompt: str, tokenizer) -> str:
    """What a wrong answer is (the first line of the continuation, as scored): empty, a span of the
    last WINDOW tokens of the prompt, a span from further back, or text the prompt does not hold
    (from memory). Case-insensitive substring tests, so a very short answer can match by chance."""
    answer = generation.split("\n")[0].strip().lower()
    if not answer:
        return MISS_KINDS[0]
    tail = tokenizer.decode(tokenizer.encode(prompt, add_special_tokens=False)[-WINDOW:]).lower()
    if answer in tail:
        return MISS_KINDS[1]
    return MISS_KINDS[2] if answer in prompt.lower() else MISS_KINDS[3]


def misses_markdown(misses: dict) -> str:
    lines = ["| model | task | window | misses | " + " | ".join(MISS_KINDS) + " |",
             "|---|---|---|---|" + "---|" * len(MISS_KINDS)]
    for model, per_task in sorted(misses.items()):
        for task, per_window in per_task.items():
            for window, kinds in sorted(per_window.items(), key=lambda kv: -int(kv[0])):
                n = sum(kinds.values())
                cells = [f"{100 * kinds.get(k, 0) / n:.0f}%" for k in MISS_KINDS]
                lines.append(f"| {model} | {task} | {window} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(table: dict) -> str:
    names = [name for _, _, name in BUCKETS] + ["not in prompt"]
    lines = ["| model | task | window | " + " | ".join(f"answer {n} tokens from the end" if n != "not in prompt"
                                                     else n for n in names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for model, per_task in sorted(table.items()):
        for task, per_window in per_task.items():
            for window, cells in sorted(per_window.items(), key=lambda kv: -int(kv[0])):
                row = [f"{cells[n][0]}/{cells[n][1]}" if n in cells else "" for n in names]
                lines.append(f"| {model} | {task} | {window} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def pooled(table: dict) -> dict:
    """{model: {bucket: [hits, n]}} summed over tasks and windows (the figure's bars)."""
    out: dict = {}
    for model, per_task in table.items():
        for per_window in per_task.values():
            for cells in per_window.values():
                for name, (hits, n) in cells.items():
                    cell = out.setdefault(model, {}).setdefault(name, [0, 0])
                    cell[0] += hits
                    cell[1] += n
    return out


def plot(table: dict, path: Path) -> None:
    """Copy-required hit rate by the answer's distance from the end of the prompt, one bar per model,
    over both tasks and every window; each bar labelled hits/examples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = pooled(table)
    names = [name for _, _, name in BUCKETS]
    models = sorted(data)
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, model in enumerate(models):
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(names))]
        cells = [data[model].get(n, [0, 0]) for n in names]
        rates = [100 * h / n if n else 0.0 for h, n in cells]
        bars = ax.bar(xs, rates, width, label=model, color=f"C{i}")
        for bar, (h, n) in zip(bars, cells):
            ax.annotate(f"{h}/{n}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(range(len(names)), [f"{n} tokens" for n in names])
    top = max([100 * h / n for c in data.values() for h, n in c.values() if n] + [1.0])
    ax.set_ylim(0, top * 1.3)
    ax.axvline(0.5, color="grey", lw=0.8, ls=":")
    ax.text(0.55, top * 1.2, f"beyond a {WINDOW}-token sliding window (Based, JRT-RNN) ->", fontsize=7,
            color="grey")
    ax.set_xlabel("distance of the answer from the end of the prompt")
    ax.set_ylabel("copy-required hits (%)")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="results/copy_recall_300m")
    p.add_argument("--data-root", default=None, help="the raw data root the evaluation read (swde/, fda/)")
    p.add_argument("--from-json", default=None,
                   help="instead of rebuilding the prompts: print (and --plot) the counts of an earlier --out")
    p.add_argument("--plot", default=None, help="also draw hit rate by distance (PNG)")
    p.add_argument("--tokenizer", default=None, help="default: <data-root>/tokenizers/gpt2")
    p.add_argument("--windows", default="1000,512,256")
    p.add_argument("--fill", default="pad")
    p.add_argument("--limit", type=int, default=300, help="as the evaluation's --limit")
    p.add_argument("--out", default=None, help="also write the counts here as JSON")
    args = p.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        sys.stdout.write(markdown(saved["hits_n"]))
        if saved.get("far_misses"):
            sys.stdout.write("\n" + misses_markdown(saved["far_misses"]))
        if args.plot:
            plot(saved["hits_n"], Path(args.plot))
        return 0
    if not args.data_root:
        p.error("--data-root is required (or --from-json)")
    misses: dict = {}
    table = distances(Path(args.results), args.data_root, args.tokenizer or str(Path(args.data_root) / "tokenizers" / "gpt2"),
                      [int(w) for w in args.windows.split(",")], args.fill, limit=args.limit, misses=misses)
    if not table:
        raise SystemExit(f"no samples under {args.results}/eval/*/w*_{args.fill}")
    if args.out:
        Path(args.out).write_text(json.dumps({"buckets": [b[2] for b in BUCKETS], "fill": args.fill,
                                              "hits_n": table, "far_misses": misses}, indent=1) + "\n")
    sys.stdout.write(markdown(table))
    sys.stdout.write(f"\nWhat the misses answer whose gold answer is more than {WINDOW} tokens from the end:\n\n")
    sys.stdout.write(misses_markdown(misses))
    if args.plot:
        plot(table, Path(args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
