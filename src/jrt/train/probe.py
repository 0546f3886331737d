"""A fast recall probe for learning curves: does the model copy the answer, scored in one forward pass.

The probe is a fixed set of held-out SWDE/FDA evaluation examples (the evaluation prompts, default
and twice, at a few window lengths), each tagged ``copy_required`` when its gold value never occurs
in the model's training text. The score of an example is *teacher-forced exact match*: every token of
``" " + value`` is the argmax after the prompt and the answer's earlier tokens. That is exactly "greedy
decoding starts with the gold value", a lower bound of the evaluation's ``contains`` metric that needs
one forward pass instead of a generation loop, so the trainer can run it at every evaluation.

Rows are right-padded: causal models never see the padding before the answer, and JRT-RNN gets one
prefix length per row (the prompt's length, capped at the model's prefix), as at evaluation.

    python -m jrt.train.probe build --data PREPARED --data-root ROOT --out probe.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path

import torch

PROBE_TASKS = ("swde", "fda", "swde_twice", "fda_twice")


_WORKER: dict = {}  # per decoding process: the tokenizer, loaded once by _load_tokenizer


def _load_tokenizer(data_dir: str) -> None:
    from transformers import AutoTokenizer

    _WORKER["tokenizer"] = AutoTokenizer.from_pretrained(str(Path(data_dir) / "tokenizer"))


def _decode_docs(job) -> str:
    """The documents lo..hi of one split, decoded and joined: one chunk of the export."""
    from .data import TokenSplit

    data_dir, name, lo, hi = job
    split = TokenSplit(Path(data_dir), name)
    bounds = split.offsets
    docs = [split.tokens[bounds[d]:bounds[d + 1]].tolist() for d in range(lo, hi)]
    return "\n\n".join(_WORKER["tokenizer"].batch_decode(docs)) + "\n\n"


def export_training_text(data_dir: str | Path, splits=("train", "recall"), out: str | Path | None = None,
                         workers: int = 1, chunk_docs: int = 2048) -> Path:
    """The text a model trained on `data_dir` saw (its splits decoded with the data's tokenizer), gzipped.

    This is the corpus the ``copy_required`` tag is computed against: byte-level BPE decodes exactly.
    ``workers`` > 1 decodes chunks of ``chunk_docs`` documents in that many processes (in order: the
    file is the same for any number of workers and any chunk size).
    """
    from .data import TokenSplit

    data_dir = Path(data_dir)
    out = Path(out) if out is not None else data_dir / "training_text.txt.gz"
    present = json.loads((data_dir / "manifest.json").read_text())["splits"]
    jobs = []
    for name in splits:
        if name in present:
            n_docs = len(TokenSplit(data_dir, name).offsets) - 1
            jobs += [(str(data_dir), name, lo, min(lo + chunk_docs, n_docs)) for lo in range(0, n_docs, chunk_docs)]
    tmp = out.with_name(out.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as f:
        if workers > 1:  # spawned, not forked: the parent may hold torch's and the tokenizer's threads
            import multiprocessing

            with multiprocessing.get_context("spawn").Pool(workers, _load_tokenizer, (str(data_dir),)) as pool:
                for text in pool.imap(_decode_docs, jobs):
                    f.write(text)
        else:
            _load_tokenizer(str(data_dir))
            for job in jobs:
                f.write(_decode_docs(job))
    tmp.replace(out)
    return out


def build_probe(data_root: str | Path, tokenizer_dir: str | Path, corpus: str | Path,
                windows=(256, 512, 1000), per_task: int = 64, seed: int = 0) -> dict:
    """Probe examples: for each window and task, ``per_task`` held-out examples stratified by document."""
    from transformers import AutoTokenizer

    from jrt.tasks import iter_task
    from jrt.tasks.copy_required import copy_required_values

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    examples = []
    for window in windows:
        for task in PROBE_TASKS:
            for ex in iter_task(task, tok, data_dir=data_root, context_length=window, limit=per_task, seed=seed):
                examples.append({"task": task, "window": window, "doc_id": ex.doc_id, "key": ex.question,
                                 "value": ex.answers[0],
                                 "prompt_ids": tok.encode(ex.prompt, add_special_tokens=False),
                                 "answer_ids": tok.encode(" " + ex.answers[0].strip(), add_special_tokens=False)})
    tags = copy_required_values([e["value"] for e in examples], [corpus], cache=False)
    for e in examples:
        e["copy_required"] = tags[e["value"].strip()]
    return {"windows": list(windows), "tasks": list(PROBE_TASKS), "per_task": per_task, "seed": seed,
            "corpus": str(corpus), "examples": examples}


def _forward_logits(model, ids: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
    core = getattr(model, "module", model)
    if getattr(core.config, "model_type", "") == "jrt":
        return model(input_ids=ids, enc_length=prefix).logits
    return model(input_ids=ids).logits


@torch.no_grad()
def score_probe(model, probe: dict, device, autocast, enc_length: int | None, batch_size: int = 16) -> dict:
    """Teacher-forced exact match per (task, window), on all examples and on the copy-required ones."""
    was_training = model.training
    model.eval()
    hits: dict[str, list[int]] = {}
    examples = probe["examples"]
    for lo in range(0, len(examples), batch_size):
        batch = examples[lo:lo + batch_size]
        width = max(len(e["prompt_ids"]) + len(e["answer_ids"]) for e in batch)
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        for i, e in enumerate(batch):
            row = e["prompt_ids"] + e["answer_ids"]
            ids[i, :len(row)] = torch.tensor(row)
        prompt_len = torch.tensor([len(e["prompt_ids"]) for e in batch])
        prefix = prompt_len.clamp(max=enc_length) if enc_length else prompt_len
        with autocast():
            logits = _forward_logits(model, ids.to(device), prefix.to(device))
        pred = logits.argmax(-1).cpu()
        for i, e in enumerate(batch):
            p, n = len(e["prompt_ids"]), len(e["answer_ids"])
            ok = int(torch.equal(pred[i, p - 1:p - 1 + n], ids[i, p:p + n]))
            for group in ("all", "copy_required") if e["copy_required"] else ("all",):
                hits.setdefault(f"{e['task']}/{e['window']}/{group}", []).append(ok)
    model.train(was_training)
    return {k: {"acc": sum(v) / len(v), "n": len(v)} for k, v in sorted(hits.items())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jrt.train.probe", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="export the training text, tag copy-required, write the probe JSON")
    b.add_argument("--data", required=True, help="prepared data folder (jrt prepare-data) the models train on")
    b.add_argument("--data-root", required=True, help="raw data root with the held-out SWDE/FDA documents")
    b.add_argument("--out", required=True)
    b.add_argument("--windows", default="256,512,1000")
    b.add_argument("--per-task", type=int, default=64)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1),
                   help="processes decoding the training text (the result does not depend on it)")
    e = sub.add_parser("export", help="only export the training text (training_text.txt.gz, for copy-required tags)")
    e.add_argument("--data", required=True, help="prepared data folder (jrt prepare-data)")
    e.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.command == "export":
        print(f"training text -> {export_training_text(args.data, workers=args.workers)}", file=sys.stderr)
        return 0
    if args.per_task < 1:
        parser.error("--per-task must be >= 1")
    corpus = export_training_text(args.data, workers=args.workers)
    probe = build_probe(args.data_root, Path(args.data) / "tokenizer", corpus,
                        windows=[int(w) for w in args.windows.split(",")], per_task=args.per_task, seed=args.seed)
    # the copy-required tags hold for this data build only: record which one
    probe["data_hash"] = json.loads((Path(args.data) / "manifest.json").read_text())["hash"]
    Path(args.out).write_text(json.dumps(probe) + "\n")
    n_copy = sum(e["copy_required"] for e in probe["examples"])
    print(f"{len(probe['examples'])} probe examples ({n_copy} copy-required) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
