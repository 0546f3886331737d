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
    p.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the model folder)")
    p.add_argument("--tasks", default="all",
                   help="comma-separated: swde,swde_twice,fda,fda_twice,squad,squad_twice,nq,nq_twice,"
                        "kv_retrieval,kv_retrieval_twice; 'all'; or 'swde+' for both variants")
    p.add_argument("--context-length", type=int, default=1000)
    p.add_argument("--answer-length", type=int, default=50)
    p.add_argument("--limit", type=int, default=None, help="documents per task (default: all)")
    p.add_argument("--batch-size", default="8")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if available)")
    p.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: as saved)")
    p.add_argument("--max-length", type=int, default=None,
                   help="prompt+generation cap in tokens (default: model config, else 2048)")
    p.add_argument("--prefix-fill", choices=["pad", "repeat"], default="pad",
                   help="JRT models: left-pad short prompts to enc_length with pads or by repeating "
                        "the prompt (the paper's read-2x padding)")
    p.add_argument("--data-dir", default=None, help="data root (default: $JRT_DATA_DIR)")
    p.add_argument("--max-gen-toks", type=int, default=None,
                   help="override the paper's 48 generated tokens (smoke runs only)")
    p.add_argument("--backend", choices=["auto", "lm-eval", "native"], default="auto",
                   help="lm-eval (simple_evaluate over the shipped tasks) or native (same prompts, "
                        "generation and metric without lm-eval); auto: lm-eval if installed")
    p.add_argument("--log-samples", choices=["brief", "full", "none"], default="brief",
                   help="per-example records: brief (generation, answers, prompt tail), full, none")
    p.add_argument("--out", default=None, help="output folder for results.json, table.md, samples")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from jrt.eval.runner import run_eval

    batch_size = args.batch_size if str(args.batch_size).startswith("auto") else int(args.batch_size)
    try:
        summary = run_eval(
            model=args.model, tokenizer=args.tokenizer, tasks=args.tasks,
            context_length=args.context_length, answer_length=args.answer_length, limit=args.limit,
            batch_size=batch_size, device=args.device, out=args.out, prefix_fill=args.prefix_fill,
            data_dir=args.data_dir, dtype=args.dtype, max_length=args.max_length,
            max_gen_toks=args.max_gen_toks, backend=args.backend,
            log_samples=args.log_samples,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"jrt eval: error: {exc}", file=sys.stderr)
        return 2
    print(summary["table"])
    if args.out:
        print(f"wrote {args.out}/results.json and {args.out}/table.md")
    return 0
