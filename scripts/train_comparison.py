"""Equal-token training comparison: several models trained on the same prepared tokens in the same
order, then evaluated on the recall tasks. Runs on any CUDA machine (or CPU, slowly).

    # once: tokenized data + the small data root `jrt eval` needs (CPU, about 10 minutes)
    python scripts/train_comparison.py populate --data-root /path/to/data --out-data .gpu_data
    # train each model (perplexities, tokens/s), then the recall evaluation of the saved models
    python scripts/train_comparison.py train --models jrt-small based-small hf-llama:small --out runs/cmp
    python scripts/train_comparison.py eval  --models jrt-small based-small hf-llama:small --out runs/cmp

`populate` writes DATA/data/{train,val,heldout,wikitext2}.{bin,offsets.npy,ids.txt.gz} + manifest.json
(IMDB + SWDE/FDA training documents + FDA summaries, 50% recall-format examples, held-out evaluation
ids excluded, GPT-2 tokenizer) and DATA/eval_root/ (held-out SWDE/FDA documents, annotations, eval
ids, the tokenizer). `train` runs `jrt train` per model (`torchrun` with --nproc > 1) into
RUNS/<model>/ and collects results.json / results.md / train_logs.jsonl into --out; `eval` runs
`jrt eval` on each RUNS/<model>/final_model and collects recall_eval.json / .md /
recall_samples.jsonl into --out. Both are thin loops over the `jrt` commands and
`python -m jrt.train.gpu_bench`; docs/TRAINING.md has the settings behind the committed results.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_MODELS = ["jrt-small", "based-small", "hf-llama:small", "hf-mamba2:small"]


def _run(cmd: list[str], check: bool = False) -> int:
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    if rc and check:
        raise SystemExit(rc)
    return rc


def populate(a) -> None:
    root = Path(a.data_root)
    data = Path(a.out_data) / "data"
    py = sys.executable
    _run([py, "-m", "jrt.train.cli", "prepare-data", "--out", str(data), "--data-root", str(root),
          "--tokenizer", str(root / "tokenizers" / "gpt2"), "--recall-fraction", "0.5",
          "--max-train-text-tokens", "10000000", "--max-val-tokens", "262144", "--max-heldout-tokens", "524288",
          "--seed", "1111", "--overwrite"], check=True)
    _run([py, "-m", "jrt.train.gpu_bench", "eval-root", str(root), str(Path(a.out_data) / "eval_root")], check=True)
    for ids in data.glob("*.ids.txt"):   # read back gzipped by TokenSplit.doc_ids
        _run(["gzip", "-9f", str(ids)], check=True)


def train(a) -> None:
    data = Path(a.data)
    if not (data / "manifest.json").is_file():
        raise SystemExit(f"no prepared data at {data}: run `python scripts/train_comparison.py populate` first")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    launch = [sys.executable]
    if a.nproc > 1:
        launch += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(a.nproc)]
    for model in a.models:
        run_dir = Path(a.runs) / model.replace(":", "_")
        shutil.rmtree(run_dir, ignore_errors=True)   # an earlier run must not pass for this one
        print(f"=== train {model}", flush=True)
        cmd = launch + ["-m", "jrt.train.cli", "train", "--data", str(data), "--out", str(run_dir), "--model", model,
                        "--seq-len", str(a.seq_len), "--micro-batch-size", str(a.micro_batch_size),
                        "--grad-accum", str(a.grad_accum), "--max-tokens", str(a.tokens),
                        "--lr", str(a.lr), "--min-lr", str(a.lr / 10), "--log-every", "20",
                        "--eval-tokens", str(a.eval_tokens), "--no-progress"]
        if a.max_time:
            cmd += ["--max-time", str(a.max_time)]
        if a.compile:
            cmd.append("--compile")
        if _run(cmd):
            print(f"!!! {model} failed", flush=True)
    _run([sys.executable, "-m", "jrt.train.gpu_bench", "collect-train", a.runs, a.out, *a.models])


def evaluate(a) -> None:
    Path(a.out).mkdir(parents=True, exist_ok=True)
    root = Path(a.eval_root)
    for model in a.models:
        run_dir = Path(a.runs) / model.replace(":", "_")
        if not (run_dir / "final_model").is_dir():
            print(f"no trained model for {model} in {a.runs}", flush=True)
            continue
        print(f"=== recall eval {model}, {a.tasks}, prefix fill {a.prefix_fill} -> {a.subdir}", flush=True)
        cmd = [sys.executable, "-m", "jrt.cli", "eval", "--model", str(run_dir / "final_model"),
               "--tokenizer", str(root / "tokenizers" / "gpt2"), "--data-dir", str(root), "--tasks", a.tasks,
               "--batch-size", "32", "--prefix-fill", a.prefix_fill, "--context-length", str(a.context_length),
               "--out", str(run_dir / a.subdir)]
        if a.limit:
            cmd += ["--limit", str(a.limit)]
        if _run(cmd):
            print(f"!!! recall eval of {model} failed", flush=True)
    _run([sys.executable, "-m", "jrt.train.gpu_bench", "collect-eval", a.runs, a.out, *a.models])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    pp = sub.add_parser("populate", help="prepare the tokenized data and the eval data root")
    pp.add_argument("--data-root", required=True, help="your copy of the data (corpus/, swde/, fda/, tokenizers/gpt2)")
    pp.add_argument("--out-data", default=".gpu_data", help="folder for data/ and eval_root/ (default .gpu_data)")

    def common(q):
        q.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="model names as `jrt train --model` takes")
        q.add_argument("--runs", default="runs/gpu_train", help="one run folder per model (default runs/gpu_train)")
        q.add_argument("--out", default="runs/gpu", help="collected results (default runs/gpu)")

    pt = sub.add_parser("train", help="train each model on the same tokens")
    common(pt)
    pt.add_argument("--data", default=".gpu_data/data", help="prepared data (default .gpu_data/data)")
    pt.add_argument("--tokens", type=int, default=20_000_000, help="training tokens per model")
    pt.add_argument("--max-time", type=float, default=0, help="training seconds per model (0: no limit)")
    pt.add_argument("--micro-batch-size", type=int, default=16)
    pt.add_argument("--grad-accum", type=int, default=1)
    pt.add_argument("--seq-len", type=int, default=2048)
    pt.add_argument("--lr", type=float, default=8e-4, help="peak learning rate; cosine to lr / 10")
    pt.add_argument("--eval-tokens", type=int, default=262144, help="perplexity tokens per split")
    pt.add_argument("--nproc", type=int, default=1, help="GPUs per model (DDP through torchrun)")
    pt.add_argument("--compile", action="store_true")

    pe = sub.add_parser("eval", help="recall evaluation of the trained models")
    common(pe)
    pe.add_argument("--eval-root", default=".gpu_data/eval_root", help="data root for `jrt eval` (from populate)")
    pe.add_argument("--tasks", default="swde,fda,swde_twice,fda_twice")
    pe.add_argument("--limit", type=int, default=0, help="documents per task (0: all)")
    pe.add_argument("--prefix-fill", default="pad", choices=["pad", "repeat"],
                    help="JRT models: left padding, or the read-2x padding (repeat)")
    pe.add_argument("--subdir", default="recall_eval", help="each evaluation writes RUNS/<model>/SUBDIR")
    pe.add_argument("--context-length", type=int, default=1000)

    a = p.parse_args(argv)
    {"populate": populate, "train": train, "eval": evaluate}[a.mode](a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
