"""Helpers of the training comparison (scripts/train_comparison.py): build the eval data root, collect results.

    python -m jrt.train.gpu_bench eval-root SRC_DATA_ROOT DST
    python -m jrt.train.gpu_bench collect-train RUNS OUT MODEL...
    python -m jrt.train.gpu_bench collect-eval RUNS OUT MODEL...
"""
from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

QA_ROWS = 1200  # leading rows of SQuAD v2 dev / NQ oracle copied: more than `--limit 400` answerable ones


def eval_root(src: Path, dst: Path, qa_rows: int = QA_ROWS) -> None:
    """Held-out SWDE/FDA documents and annotations, eval ids, the first `qa_rows` rows of SQuAD v2
    dev and NQ oracle (the task readers stream files in order, so `--limit N` picks the same
    examples as on the full files), and the GPT-2 fast tokenizer (3.5 MB)."""
    shutil.rmtree(dst, ignore_errors=True)
    for fam, docs, kv in (("swde", "swde_book_docs", "swde_book_kv"), ("fda", "fda_docs", "fda_kv")):
        (dst / fam).mkdir(parents=True)
        shutil.copy(src / fam / "eval_doc_ids.txt", dst / fam / "eval_doc_ids.txt")
        ids = set((src / fam / "eval_doc_ids.txt").read_text().split())
        for name in (docs, kv):
            with gzip.open(src / fam / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f, \
                    gzip.open(dst / fam / f"{name}.jsonl.gz", "wt", encoding="utf-8") as g:
                for line in f:
                    if json.loads(line)["doc_id"] in ids:
                        g.write(line)
    for fam, name in (("squad", "squad_v2.0_dev.jsonl.gz"), ("nq", "nq_open_oracle.jsonl.gz")):
        (dst / fam).mkdir(parents=True)
        with gzip.open(src / fam / name, "rt", encoding="utf-8") as f, \
                gzip.open(dst / fam / name, "wt", encoding="utf-8") as g:
            for i, line in enumerate(f):
                if i == qa_rows:
                    break
                g.write(line)
    # the fast tokenizer needs only tokenizer.json (+ its config); vocab.json / merges.txt (1.4 MiB)
    # are left behind so the carry fits 64 MiB beside the fla and transformers wheels
    (dst / "tokenizers" / "gpt2").mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / "tokenizers" / "gpt2" / name).exists():
            shutil.copy(src / "tokenizers" / "gpt2" / name, dst / "tokenizers" / "gpt2" / name)


def _ppl(ev: dict, k: str) -> str:
    return f"{ev[k]['ppl']:.2f}" if k in ev and "ppl" in ev[k] else "-"


def collect_train(runs: Path, out: Path, models: list[str]) -> None:
    results, rows = {}, []
    with open(out / "train_logs.jsonl", "w") as logs:
        for m in models:
            d = runs / m.replace(":", "_")
            if (d / "log.jsonl").exists():
                for line in (d / "log.jsonl").read_text().splitlines():
                    logs.write(json.dumps({"run": m, **json.loads(line)}) + "\n")
            if not (d / "summary.json").exists():  # started and died, or never started
                status = "failed" if d.exists() else "not run"
                results[m] = {"failed": True} if d.exists() else {"not_run": True}
                rows.append(f"| {m} | {status} | | | | | | | | |")
                continue
            s = json.loads((d / "summary.json").read_text())
            s["run_config"] = json.loads((d / "run_config.json").read_text())
            results[m] = s
            ev = s["eval"]
            sb = (s.get("recurrent_state_bytes") or {}).get("total")
            rows.append(f"| {m} | {s['params'] / 1e6:.1f}M | {s['objective']} | {s['tokens'] / 1e6:.1f}M | "
                        f"{s['tokens_per_s'] / 1e3:.0f}k | {s['final_train'].get('loss', float('nan')):.3f} | "
                        f"{_ppl(ev, 'wikitext2')} | {_ppl(ev, 'val')} | {_ppl(ev, 'heldout')} | "
                        f"{sb if sb is not None else '-'} |")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    head = ("| model | params | objective | tokens | train tok/s | final train loss | WikiText-2 ppl | "
            "val ppl | held-out ppl | decode state bytes/seq |\n|---|---|---|---|---|---|---|---|---|---|\n")
    note = ("\nPerplexity: next-token perplexity on positions >= 1024 of 2048-token windows for every "
            "model (JRT reads the first 1024 non-causally, so all models are scored on the same tokens); "
            "causal models' all-position numbers are in results.json (ppl_all_positions). "
            "Llama's state is its KV cache at 2048 tokens (bf16).\n")
    table = head + "\n".join(rows) + "\n" + note
    (out / "results.md").write_text(table)
    print(table)


def collect_eval(runs: Path, out: Path, models: list[str]) -> None:
    """Every `recall_eval*` folder of every model (one per task list / prefix fill) into $OUT."""
    res, tables = {}, []
    with open(out / "recall_samples.jsonl", "w") as g:
        for m in models:
            for d in sorted((runs / m.replace(":", "_")).glob("recall_eval*")):
                if not (d / "results.json").exists():
                    continue
                key = m if d.name == "recall_eval" else f"{m}/{d.name}"
                res[key] = json.loads((d / "results.json").read_text())
                tables.append(f"## {key}\n\n" + (d / "table.md").read_text())
                for f in sorted(d.glob("samples_*.jsonl")):
                    for line in f.read_text().splitlines():
                        g.write(json.dumps({"run": key, "file": f.name, **json.loads(line)}) + "\n")
    (out / "recall_eval.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
    (out / "recall_eval.md").write_text("\n".join(tables))
    print("\n".join(tables))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "eval-root":
        eval_root(Path(sys.argv[2]), Path(sys.argv[3]))
    elif cmd == "collect-train":
        collect_train(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
    elif cmd == "collect-eval":
        collect_eval(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
    else:
        raise SystemExit(f"unknown command {cmd}")
