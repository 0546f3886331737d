"""Copy-required hits by how far the answer sits from the end of the prompt, per model.

A recurrent model of this project sees the last 128 tokens exactly (its sliding-window attention
layers) and everything earlier only through its linear-attention state. So the question for each
copy-required hit is: was the answer inside the last 128 tokens, where the window can copy it, or
further back, where only the state can have carried it? This rebuilds every evaluated prompt
(`jrt.tasks.iter_task`, the evaluation's own sampling: limit and seed as in `scripts/copy_recall.py
eval`), checks it is the example of the saved sample, and measures the distance in tokens from the
start of the gold answer's last occurrence to the end of the prompt.

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


def distances(results: Path, data_root: str, tokenizer_dir: str, windows: list[int], fill: str = "pad",
              tasks=("swde", "fda"), limit: int = 300) -> dict:
    """{model: {task: {window: {bucket: [hits, n]}}}} over the copy-required examples, default prompt."""
    from transformers import AutoTokenizer

    from jrt.tasks import iter_task

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    prompts: dict = {}
    out: dict = {}
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
                                iter_task(task, tok, data_dir=data_root, context_length=window, limit=limit,
                                          seed=0, source="local")]
            examples = prompts[key]
            if [(r["doc_id"], r["answers"]) for r in rows] != [(d, a) for d, a, _ in examples]:
                raise SystemExit(f"{f}: the rebuilt examples are not the evaluated ones (other data, limit or seed?)")
            cells = out.setdefault(model, {}).setdefault(task, {}).setdefault(str(window), {})
            for r, (_, answers, prompt) in zip(rows, examples):
                if not r.get("copy_required"):
                    continue
                d = answer_distance(prompt, answers, tok)
                name = "not in prompt" if d is None else bucket(d)
                cell = cells.setdefault(name, [0, 0])
                cell[0] += int(bool(r["contains"]))
                cell[1] += 1
    return out


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="results/copy_recall_300m")
    p.add_argument("--data-root", required=True, help="the raw data root the evaluation read (swde/, fda/)")
    p.add_argument("--tokenizer", default=None, help="default: <data-root>/tokenizers/gpt2")
    p.add_argument("--windows", default="1000,512,256")
    p.add_argument("--fill", default="pad")
    p.add_argument("--limit", type=int, default=300, help="as the evaluation's --limit")
    p.add_argument("--out", default=None, help="also write the counts here as JSON")
    args = p.parse_args(argv)
    table = distances(Path(args.results), args.data_root, args.tokenizer or str(Path(args.data_root) / "tokenizers" / "gpt2"),
                      [int(w) for w in args.windows.split(",")], args.fill, limit=args.limit)
    if not table:
        raise SystemExit(f"no samples under {args.results}/eval/*/w*_{args.fill}")
    if args.out:
        Path(args.out).write_text(json.dumps({"buckets": [b[2] for b in BUCKETS], "fill": args.fill,
                                              "hits_n": table}, indent=1) + "\n")
    sys.stdout.write(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
