"""`jrt prepare-data` and `jrt train` (also runnable as ``python -m jrt.train.cli`` under torchrun)."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _int_or_none(s):
    return None if s in (None, "", "none", "None") else int(float(s))


def register(subparsers) -> None:
    p = subparsers.add_parser("prepare-data", help="tokenize corpora into a memory-mapped training file",
                              description="Tokenize text sources into <out>/{train,val,heldout,wikitext2}"
                                          ".bin + offsets + manifest.json (held-out evaluation ids excluded).")
    p.add_argument("--out", required=True, help="output directory (created atomically)")
    p.add_argument("--tokenizer", default=None,
                   help="Hugging Face tokenizer folder (default: <data-root>/tokenizers/gpt2)")
    p.add_argument("--data-root", default=None,
                   help="folder with corpus/, swde/, fda/ (default: $JRT_DATA_DIR)")
    p.add_argument("--sources", default="imdb,swde,fda,fda_summaries",
                   help="comma list of imdb, swde, fda, fda_summaries; '' for none")
    p.add_argument("--text", action="append", default=[],
                   help="extra text source: a .txt/.txt.gz/.jsonl(.gz) file or folder (repeatable)")
    p.add_argument("--seed", type=int, default=1111)
    p.add_argument("--recall-fraction", type=float, default=0.0,
                   help="fraction of training tokens in recall format (swde_book_kv, fda_kv training docs)")
    p.add_argument("--recall-context-lengths", default="1000",
                   help="comma list of token budgets for the recall context window (cycled over repeats)")
    p.add_argument("--recall-drop-leaky", action="store_true",
                   help="leave out recall examples whose window still names the value they replaced (a surname "
                        "or a title's words surviving the substitution; jrt.train.counterfactual.LeakCheck)")
    p.add_argument("--val-fraction", type=float, default=0.005)
    p.add_argument("--max-val-tokens", type=int, default=500_000)
    p.add_argument("--max-train-text-tokens", type=_int_or_none, default=None,
                   help="cap the plain-text training tokens (random documents, by seed)")
    p.add_argument("--no-heldout-split", action="store_true",
                   help="do not write the held-out evaluation documents as a perplexity split")
    p.add_argument("--max-heldout-tokens", type=int, default=2_000_000)
    p.add_argument("--eval-text", action="append", default=[],
                   help="NAME=PATH: extra perplexity split (default: wikitext2=<data-root>/corpus/wikitext2/test.txt)")
    p.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1),
                   help="processes building the recall examples (the data does not depend on it; "
                        "default: the CPU count, at most 16)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_prepare)

    t = subparsers.add_parser("train", help="train a model (single process or torchrun DDP/FSDP2)",
                              description="Train a JRT/Based preset or an HF Llama/Mamba2/GLA baseline on a "
                                          "prepared data directory. Multi-process: torchrun --nproc_per_node N "
                                          "-m jrt.train.cli train ...")
    t.add_argument("--data", required=True, help="prepared data directory (jrt prepare-data)")
    t.add_argument("--out", required=True, help="run directory (logs, checkpoints, summary.json)")
    t.add_argument("--model", default="hf-llama:tiny",
                   help="jrt-small | based-small | jrt-tiny | ... | hf-llama:<size> | hf-mamba2:<size> | hf-gla:<size> (fla, GPU)")
    t.add_argument("--objective", default="auto", choices=["auto", "jrt", "ntp"])
    t.add_argument("--seq-len", type=int, default=2048)
    t.add_argument("--enc-length", type=_int_or_none, default=None)
    t.add_argument("--micro-batch-size", type=int, default=8)
    t.add_argument("--grad-accum", type=int, default=1)
    t.add_argument("--max-steps", type=_int_or_none, default=None)
    t.add_argument("--max-tokens", type=_int_or_none, default=None)
    t.add_argument("--lr", type=float, default=8e-4)
    t.add_argument("--min-lr", type=float, default=8e-5)
    t.add_argument("--warmup-steps", type=_int_or_none, default=None)
    t.add_argument("--warmup-frac", type=float, default=0.01)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--grad-clip", type=float, default=1.0)
    t.add_argument("--seed", type=int, default=1111)
    t.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"])
    t.add_argument("--compile", action="store_true")
    t.add_argument("--dist", default="ddp", choices=["ddp", "fsdp"])
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--eval-every", type=_int_or_none, default=None)
    t.add_argument("--eval-tokens", type=int, default=262_144)
    t.add_argument("--eval-splits", default="val,heldout,wikitext2")
    t.add_argument("--eval-from", type=_int_or_none, default=None,
                   help="perplexity on positions >= this (default: the prefix length, for JRT its first causal "
                        "position; seq-len/2 for other models, so the numbers compare)")
    t.add_argument("--save-every", type=_int_or_none, default=None)
    t.add_argument("--keep-last", type=int, default=2)
    t.add_argument("--resume", default=None, help="'auto' (latest valid checkpoint in --out) or a checkpoint dir")
    t.add_argument("--max-time", type=float, default=None, help="stop after this many seconds (checkpointed)")
    t.add_argument("--no-tensorboard", action="store_true")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--no-final-model", action="store_true")
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    t.add_argument("--recall-rows", type=float, default=None,
                   help="fraction of training rows carrying a recall example whose prompt ends at the prefix "
                        "length (data prepared with --recall-fraction; default 0.5 there, else 0)")
    t.add_argument("--recall-probe", default=None,
                   help="probe JSON (python -m jrt.train.probe build): teacher-forced answer accuracy at each eval")
    t.add_argument("--model-override", action="append", default=[],
                   help="KEY=JSON config override (e.g. num_hidden_layers=4), repeatable")
    t.set_defaults(func=_train)


def _prepare(args) -> int:
    from pathlib import Path

    if args.workers < 1:
        print(f"jrt prepare-data: error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    from jrt.env import data_root as resolve_data_root

    from .data import DataError, prepare_data

    try:
        data_root = resolve_data_root(args.data_root, required=False)
    except FileNotFoundError as exc:
        print(f"jrt prepare-data: {exc}", file=sys.stderr)
        return 2
    tokenizer = args.tokenizer
    if tokenizer is None and data_root is not None:
        tokenizer = str(Path(data_root) / "tokenizers" / "gpt2")
    sources = [s for s in args.sources.split(",") if s.strip()]
    eval_texts = None
    if args.eval_text:
        eval_texts = dict(e.split("=", 1) for e in args.eval_text)
    try:
        manifest = prepare_data(
            args.out, tokenizer, data_root=data_root, sources=sources, texts=args.text, seed=args.seed,
            recall_fraction=args.recall_fraction,
            recall_context_lengths=[int(x) for x in args.recall_context_lengths.split(",")],
            recall_drop_leaky=args.recall_drop_leaky,
            val_fraction=args.val_fraction, max_val_tokens=args.max_val_tokens,
            max_train_text_tokens=args.max_train_text_tokens, heldout_split=not args.no_heldout_split,
            max_heldout_tokens=args.max_heldout_tokens, eval_texts=eval_texts, overwrite=args.overwrite,
            progress=not args.no_progress, workers=args.workers)
    except DataError as e:
        print(f"jrt prepare-data: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, "hash": manifest["hash"], "seconds": manifest["seconds"],
                      "splits": {k: {"tokens": v["tokens"], "documents": v["documents"]}
                                 for k, v in manifest["splits"].items()}}, indent=2))
    return 0


def _train(args) -> int:
    from jrt.baselines.by_name import check_name

    from .checkpoint import CheckpointError
    from .run_dir import RunDirError
    from .trainer import TrainConfig, train

    overrides = {}
    for o in args.model_override:
        k, v = o.split("=", 1)
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    cfg = TrainConfig(
        data=args.data, out=args.out, model=args.model, objective=args.objective, seq_len=args.seq_len,
        enc_length=args.enc_length, micro_batch_size=args.micro_batch_size, grad_accum=args.grad_accum,
        max_steps=args.max_steps, max_tokens=args.max_tokens, lr=args.lr, min_lr=args.min_lr,
        warmup_steps=args.warmup_steps, warmup_frac=args.warmup_frac, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, seed=args.seed, dtype=args.dtype, compile=args.compile, dist=args.dist,
        log_every=args.log_every, eval_every=args.eval_every, eval_tokens=args.eval_tokens,
        eval_splits=tuple(s for s in args.eval_splits.split(",") if s), eval_from=args.eval_from,
        save_every=args.save_every, keep_last=args.keep_last, resume=args.resume, max_time=args.max_time,
        tensorboard=not args.no_tensorboard, progress=not args.no_progress,
        save_final_model=not args.no_final_model, device=args.device, model_overrides=overrides,
        recall_rows=args.recall_rows, recall_probe=args.recall_probe)
    try:
        cfg.validate()
        check_name(cfg.model)
        train(cfg)
    except (ValueError, ImportError, CheckpointError, RunDirError) as e:  # DataError is a ValueError
        print(f"jrt train: error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jrt.train.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
