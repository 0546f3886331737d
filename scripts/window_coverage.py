"""How many SWDE / FDA evaluation examples still hold their answer after truncation, per window and field.

The paper's truncation anchors the window at the earliest occurrence of the attribute name *or* its
value (jrt.tasks.truncate_around_answer). When the name appears earlier than the value (SWDE's
"For Publishers" menu link, for instance), a short window can miss the value entirely, and no
model can copy it. This counts those cases on the examples `jrt eval --limit N --seed S` evaluates.

    python scripts/window_coverage.py --data-dir $JRT_DATA_DIR --windows 1000,512,256 --limit 300 \\
        --out results/copy_recall/window_coverage.json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def coverage(data_dir: str, tokenizer: str, windows: list[int], limit: int, seed: int) -> dict:
    from transformers import AutoTokenizer

    from jrt.tasks import iter_task

    tok = AutoTokenizer.from_pretrained(tokenizer)
    out = {}
    for task in ("swde", "fda"):
        for window in windows:
            per_key: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for ex in iter_task(task, tok, data_dir=data_dir, context_length=window, limit=limit, seed=seed):
                per_key[ex.question][0] += 1
                per_key[ex.question][1] += int(ex.answer_in_window)
            n = sum(v[0] for v in per_key.values())
            inside = sum(v[1] for v in per_key.values())
            out[f"{task}/{window}"] = {"examples": n, "answer_in_window": inside,
                                       "per_field": {k: {"examples": v[0], "answer_in_window": v[1]}
                                                     for k, v in sorted(per_key.items())}}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="data root with swde/ and fda/ (held-out ids inside)")
    p.add_argument("--tokenizer", default=None, help="default: <data-dir>/tokenizers/gpt2")
    p.add_argument("--windows", default="1000,512,256")
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the counts here as JSON (else print them)")
    a = p.parse_args(argv)
    if a.limit < 1:
        p.error("--limit must be >= 1")
    result = {"command": "python " + " ".join(sys.argv), "limit": a.limit, "seed": a.seed,
              "coverage": coverage(a.data_dir, a.tokenizer or str(Path(a.data_dir) / "tokenizers" / "gpt2"),
                                   [int(w) for w in a.windows.split(",")], a.limit, a.seed)}
    text = json.dumps(result, indent=1)
    if a.out:
        Path(a.out).write_text(text + "\n")
    for key, c in result["coverage"].items():
        missing = {f: v["examples"] - v["answer_in_window"] for f, v in c["per_field"].items()
                   if v["examples"] > v["answer_in_window"]}
        print(f"{key}: answer in the window for {c['answer_in_window']} of {c['examples']}"
              + (f"; missing: {missing}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
