"""How often a counterfactual recall example still names the value it replaced, per attribute.

The counterfactual examples (jrt.train.counterfactual) replace every case-insensitive occurrence of
an attribute's value in the document window by another document's value. Other forms of the old
value survive: a surname alone in the prose ("bestselling author Michaels"), a title's words in a
review, a publisher in a URL. Such an example contradicts itself: the window names the old value
and the target is the new one. This counts, per source and attribute, the examples whose window
still holds a *distinctive* word of the replaced value (at least 4 word characters, absent from the
substitute, and in fewer than --max-df of that source's annotated training documents, so "books" or
"press" do not count), on the first --max-docs of the documents the recall split is built from
(jrt.train.recall_mix.recall_families: held-out documents excluded).

    python scripts/counterfactual_leaks.py --data-dir $JRT_DATA_DIR --window 1000 \\
        --out results/copy_recall_300m/counterfactual_leaks.json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def leaks(data_dir: str, tokenizer: str, window: int, max_docs: int, max_df: float, seed: int) -> dict:
    import numpy as np
    from transformers import AutoTokenizer

    from jrt.train.counterfactual import CounterfactualBuilder, LeakCheck
    from jrt.train.data import load_heldout
    from jrt.train.recall_mix import recall_families

    tok = AutoTokenizer.from_pretrained(tokenizer)
    root = Path(data_dir)
    families, _ = recall_families(root, load_heldout(root, ["swde", "fda"]))  # the recall split's documents
    out = {}
    for kv_src, kvs, docs, pools in families:
        source = kv_src.split("_")[0]
        check = LeakCheck(docs.values(), max_df=max_df)
        builder = CounterfactualBuilder(tok, pools, window)  # no leak check: count, do not drop
        rng = np.random.default_rng(seed)
        per_key: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        shown: dict[str, dict] = {}
        for doc_id in sorted(docs)[:max_docs]:
            for ex in builder.examples(source, doc_id, docs[doc_id], kvs[doc_id], None, rng):
                found = check.surviving(ex.original, ex.value, ex.prompt)
                per_key[ex.key][0] += 1
                per_key[ex.key][1] += bool(found)
                if found and ex.key not in shown:
                    ctx = ex.prompt.lower()
                    at = ctx.find(found[0])
                    shown[ex.key] = {"doc_id": doc_id, "original": ex.original, "substitute": ex.value,
                                     "surviving_words": found, "context": ctx[max(0, at - 80):at + 60]}
        out[source] = {key: {"examples": n, "with_surviving_word": k, "share": round(k / n, 3) if n else None,
                             "example": shown.get(key)}
                       for key, (n, k) in sorted(per_key.items())}
    return {"window": window, "max_docs": max_docs, "max_df": max_df, "seed": seed, "sources": out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="data root with swde/ and fda/ (held-out ids inside)")
    p.add_argument("--tokenizer", default=None, help="default: <data-dir>/tokenizers/gpt2")
    p.add_argument("--window", type=int, default=1000, help="context length of the examples (tokens)")
    p.add_argument("--max-docs", type=int, default=400, help="training documents per source")
    p.add_argument("--max-df", type=float, default=0.02, help="a word in more of the documents is not distinctive")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the counts here as JSON (else print them)")
    args = p.parse_args(argv)
    if args.max_docs < 1 or not 0 < args.max_df <= 1 or args.window < 64:
        p.error("--max-docs must be >= 1, --max-df in (0, 1], --window >= 64")
    result = leaks(args.data_dir, args.tokenizer or str(Path(args.data_dir) / "tokenizers" / "gpt2"),
                   args.window, args.max_docs, args.max_df, args.seed)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n")
    for source, keys in result["sources"].items():
        for key, row in keys.items():
            print(f"{source:5s} {key:35s} {row['with_surviving_word']:4d} / {row['examples']:4d}", file=sys.stderr)
    if not args.out:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
