"""A context-free floor for the FDA recall task: answer every field with its most frequent value.

For each evaluated FDA example (the samples a `jrt eval` run wrote), take the field named at the end
of the prompt ("... Classification:") and answer with the value that field has most often in the
*training* FDA documents (held-out ids excluded), then score with the task's `contains` metric. A
model at or near this number is answering from field priors, not reading the document.

    python scripts/fda_majority_baseline.py --data-dir /path/to/your/data \\
        --samples results/training_80m/recall_samples.jsonl.gz --run based-small
"""
from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path

from jrt.tasks.scoring import contains_score


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="folder with fda/fda_kv.jsonl.gz and fda/eval_doc_ids.txt")
    p.add_argument("--samples", required=True, help="recall_samples.jsonl(.gz) written by lab/device/train_session.sh")
    p.add_argument("--run", required=True, help="which run's FDA samples to score (the 'run' field)")
    args = p.parse_args(argv)
    root = Path(args.data_dir)
    held_out = set((root / "fda" / "eval_doc_ids.txt").read_text().split())
    values: dict[str, Counter] = defaultdict(Counter)
    with gzip.open(root / "fda" / "fda_kv.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["doc_id"] not in held_out:
                values[row["key"]][row["value"]] += 1
    opener = gzip.open if args.samples.endswith(".gz") else open
    with opener(args.samples, "rt", encoding="utf-8") as f:
        samples = [r for r in map(json.loads, f) if r["run"] == args.run and r["file"] == "samples_jrt_fda.jsonl"]
    if not samples:
        raise SystemExit(f"no FDA samples of run {args.run!r} in {args.samples}")
    hits = scored = 0
    for r in samples:
        tail = r["prompt_tail"].rstrip().lower()
        keys = [k for k in values if tail.endswith(k.lower() + ":")]
        if not keys:
            continue
        scored += 1
        guess = values[max(keys, key=len)].most_common(1)[0][0]
        hits += contains_score(guess, r["answers"])
    print(f"FDA majority-value baseline on {args.run}'s {len(samples)} examples ({scored} with a known field): "
          f"{hits}/{scored} = {100 * hits / max(scored, 1):.1f}% contains")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
