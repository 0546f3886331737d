"""`jrt eval`: the recall tasks (default vs JRT-Prompt) through lm-evaluation-harness."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="recall tasks (default vs JRT-Prompt) through lm-evaluation-harness",
        description="Evaluate a model folder (JRT/Based checkpoint or any Hugging Face causal LM) or a "
                    "JRT preset name on the recall tasks; writes results.json, table.md and samples.",
    )
    p.add_argument("--model", required=True, help="model folder or JRT preset name (random weights)")
    p.add_argument("--tokenizer", default=None, help="tokenizer folder or hub id (default: the model folder; gpt2 for the paper's official checkpoints)")
    p.add_argument("--tasks", default="all",
                   help="comma-separated: swde,swde_twice,fda,...,triviaqa,drop,kv_retrieval (+ _twice); "
                        "'all'; 'jrt_recall' (the paper's six, both variants); or 'swde+' for both variants")
    # numbers are validated in main (one-line error, exit code 2), not by argparse types
    p.add_argument("--context-length", default="1000", help="window in tokens (>= 2; default 1000)")
    p.add_argument("--answer-length", default="50", help="tokens kept free for the answer (default 50)")
    p.add_argument("--limit", default=None,
                   help="examples per task, >= 1 (default: all); SWDE/FDA sample across all held-out "
                        "documents (stratified by document, --seed)")
    p.add_argument("--seed", default="0", help="seed of the SWDE/FDA stratified sample (default 0)")
    p.add_argument("--batch-size", default="8", help="prompts per batch, >= 1 (default 8)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if available)")
    p.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: as saved)")
    p.add_argument("--max-length", default=None,
                   help="prompt+generation cap in tokens (default: model config, else 2048)")
    p.add_argument("--prefix-fill", choices=["pad", "repeat"], default="pad",
                   help="JRT models: left-pad short prompts to enc_length with pads or by repeating "
                        "the prompt (the paper's read-2x padding)")
    p.add_argument("--data-dir", default=None,
                   help="data root (default: $JRT_DATA_DIR); with --source hub, a folder holding local "
                        "mirrors <data-dir>/hazyresearch/<dataset>/")
    p.add_argument("--source", choices=["local", "hub"], default=None,
                   help="local data layout, or HazyResearch's processed hub datasets (default: local "
                        "when a data root is given, else hub)")
    p.add_argument("--nq-size", default="1024", help="hub NQ rows: based_nq_512, _1024 (default) or _2048")
    p.add_argument("--train-corpus", action="append", default=None, metavar="PATH",
                   help="training text (files or folders of .txt/.jsonl[.gz]; repeatable): report "
                        "contains on copy-required examples (gold absent from this text) beside all")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of an earlier run in --out (removes its sample files)")
    p.add_argument("--max-gen-toks", default=None,
                   help="override the paper's 48 generated tokens (smoke runs only)")
    p.add_argument("--backend", choices=["auto", "lm-eval", "native"], default="auto",
                   help="lm-eval (simple_evaluate over the shipped tasks) or native (same prompts, "
                        "generation and metric without lm-eval); auto: lm-eval if installed")
    p.add_argument("--log-samples", choices=["brief", "full", "none"], default="brief",
                   help="per-example records: brief (generation, answers, prompt tail), full, none")
    p.add_argument("--out", default=None, help="output folder for results.json, table.md, samples")
    p.set_defaults(func=main)


def _int(value, name: str, low: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"--{name} must be an integer >= {low}, got {value!r}") from None
    if number < low:
        raise ValueError(f"--{name} must be an integer >= {low}, got {value!r}")
    return number


def main(args: argparse.Namespace) -> int:
    """Validate the arguments (user errors: one line on stderr, exit code 2), then run."""
    try:
        limit = _int(args.limit, "limit", 1)
        batch_size = args.batch_size if str(args.batch_size).startswith("auto") else \
            _int(args.batch_size, "batch-size", 1)
        context_length = _int(args.context_length, "context-length", 2)
        answer_length = _int(args.answer_length, "answer-length", 0)
        max_gen_toks = _int(args.max_gen_toks, "max-gen-toks", 1)
        max_length = _int(args.max_length, "max-length", 2)
        seed = _int(args.seed, "seed", 0)
        nq_size = _int(args.nq_size, "nq-size", 1)
        if answer_length >= context_length:
            raise ValueError(f"--answer-length ({answer_length}) must be below --context-length ({context_length})")
        if nq_size not in (512, 1024, 2048):
            raise ValueError(f"--nq-size must be 512, 1024 or 2048, got {args.nq_size!r}")
        from jrt.eval.runner import run_eval

        summary = run_eval(
            model=args.model, tokenizer=args.tokenizer, tasks=args.tasks,
            context_length=context_length, answer_length=answer_length, limit=limit,
            batch_size=batch_size, device=args.device, out=args.out, prefix_fill=args.prefix_fill,
            data_dir=args.data_dir, dtype=args.dtype, max_length=max_length,
            max_gen_toks=max_gen_toks, backend=args.backend, log_samples=args.log_samples,
            source=args.source, nq_size=nq_size, train_corpus=args.train_corpus,
            overwrite=args.overwrite, seed=seed,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"jrt eval: error: {exc}", file=sys.stderr)
        return 2
    print(summary["table"])
    if args.out:
        print(f"wrote {args.out}/results.json and {args.out}/table.md")
    return 0
