"""`jrt` command line: one subcommand per job, each registered by the module that owns it.

Subcommand modules are imported lazily (only the chosen one is loaded), so `jrt info` does not
pay for lm-eval or matplotlib imports.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module that defines `register(subparsers)` for it, one-line help)
SUBCOMMANDS = {
    "info": ("jrt.models.cli", "parameters and recurrent-state bytes of a preset vs a Transformer KV cache"),
    "generate": ("jrt.models.cli", "greedy generation with the constant-size recurrent cache"),
    "convert": ("jrt.models.cli", "convert an official JRT-RNN / Based checkpoint into a Hugging Face folder"),
    "synth": ("jrt.synthetics.cli", "synthetic recall (MQAR, set disjointness): demo, sweeps, plots"),
    "prepare-data": ("jrt.train.cli", "tokenize corpora into a memory-mapped training file"),
    "train": ("jrt.train.cli", "train a model (single process or torchrun DDP/FSDP2)"),
    "eval": ("jrt.eval.cli", "recall tasks (default vs JRT-Prompt) through lm-evaluation-harness"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jrt", description="just-read-twice command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered = set()
    only_module = SUBCOMMANDS[only][0] if only else None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if only_module is not None and module_name != only_module:
            sub.add_parser(name, help=help_text)  # placeholder: listed in --help, not imported
            continue
        if module_name in registered:
            continue
        module = importlib.import_module(module_name)
        module.register(sub)  # adds this module's subcommands with their own arguments
        registered.add(module_name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
