"""Real-document recall that measures copying: the equal-token comparison of docs/RESULTS.md section 3.

Runs on any CUDA machine with a copy of the data (IMDB, SWDE, FDA with their held-out id lists):

    python scripts/copy_recall.py prepare --data-root ROOT --work W      # tokens + counterfactual recall + probe
        [--probe results/copy_recall_300m/probe.json.gz]                 # (or adopt a series' probe: faster)
    python scripts/copy_recall.py train   --work W --tokens 120e6         # the models side by side on one GPU
    python scripts/copy_recall.py eval    --work W --data-root ROOT       # default / twice / read-2x, 3 windows
    python scripts/copy_recall.py report  --work W --out results/copy_recall   # tables + learning-curve plot

`train` starts one `jrt train` process per model on the same GPU (same data order, same seed, same
token count: small models leave most of an H200 idle alone, so side by side is faster overall) and
waits for all; each logs the recall probe (jrt.train.probe) at every evaluation: the learning curves.
`eval` runs `jrt eval` on every final model with the copy-required tag against the exact training text.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# the fourth model is GLA: on one H200 it trains at ~235-266k tokens/s, Mamba2 (fla) at ~103k, so
# 300M tokens of Mamba2 do not fit one GPU stretch (results/baselines_fla_80m_recall)
MODELS = ("hf-llama:small", "based-small", "jrt-small", "hf-gla:small")
WINDOWS = (1000, 512, 256)
TASKS = ("swde", "fda", "swde_twice", "fda_twice")


def _run(cmd: list[str], log: Path | None = None) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    if log is None:
        subprocess.run(cmd, check=True)
        return
    with open(log, "a") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)


def adopt_probe(source: Path, work: Path, windows: str, per_task: int) -> None:
    """Use a probe built earlier from the same data build (e.g. a series' committed probe.json.gz)
    instead of building one: its windows and size must be the ones asked for, and when it records
    the data hash (probes built since that field exists, else the data_manifest.json beside it, as
    in a series' results folder) the hash must be this build's. A probe with neither is taken on
    trust and said so; lab/device/merge_copy_recall.py compares the examples with the series' probe
    afterwards."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as f:
        probe = json.load(f)
    asked = [int(w) for w in windows.split(",")]
    if sorted(probe["windows"]) != sorted(asked) or probe["per_task"] != per_task:
        raise SystemExit(f"{source}: probe built for windows {probe['windows']}, {probe['per_task']} per task; "
                         f"asked for {asked}, {per_task}")
    data_hash = json.loads((work / "data" / "manifest.json").read_text())["hash"]
    recorded = probe.get("data_hash")
    beside = source.parent / "data_manifest.json"       # a series' results folder keeps its data manifest
    if recorded is None and beside.exists():
        recorded = json.loads(beside.read_text())["hash"]
    if recorded is None:
        print(f"{source}: no data hash recorded and no data_manifest.json beside it; its copy-required tags "
              f"are assumed to be this build's ({data_hash[:8]}...)", file=sys.stderr)
    elif recorded != data_hash:
        raise SystemExit(f"{source}: built from data {recorded[:8]}..., this build is {data_hash[:8]}...")
    (work / "probe.json").write_text(json.dumps(probe) + "\n")


def prepare(args) -> None:
    work = Path(args.work)
    data = work / "data"
    _run([sys.executable, "-m", "jrt.cli", "prepare-data", "--out", str(data), "--data-root", args.data_root,
          "--tokenizer", args.tokenizer, "--sources", args.sources, "--recall-fraction", str(args.recall_fraction),
          "--recall-context-lengths", args.recall_context_lengths, "--seed", str(args.seed), "--overwrite"]
         + (["--recall-drop-leaky"] if args.drop_leaky else []))
    if args.probe:   # training can start now; `eval` exports the training text if nobody has
        adopt_probe(Path(args.probe), work, args.windows, args.probe_per_task)
        return
    _run([sys.executable, "-m", "jrt.train.probe", "build", "--data", str(data), "--data-root", args.data_root,
          "--out", str(work / "probe.json"), "--windows", args.windows,
          "--per-task", str(args.probe_per_task)])


def _safe(model: str) -> str:
    return model.replace(":", "_")


def train(args) -> None:
    work = Path(args.work)
    data = work / "data"
    procs = {}
    for model in args.models.split(","):
        out = work / "runs" / _safe(model)
        steps = int(float(args.tokens)) // (args.micro_batch_size * args.seq_len)
        cmd = [sys.executable, "-m", "jrt.train.cli", "train", "--data", str(data), "--out", str(out),
               "--model", model, "--seq-len", str(args.seq_len), "--micro-batch-size", str(args.micro_batch_size),
               "--max-steps", str(steps), "--lr", str(args.lr), "--seed", str(args.seed),
               "--recall-rows", str(args.recall_rows),
               "--eval-every", str(max(1, steps // args.curve_points)), "--eval-tokens", str(args.eval_tokens),
               "--eval-splits", "val,heldout", "--recall-probe", str(work / "probe.json"),
               "--log-every", "20", "--no-progress", "--no-tensorboard"]
        if args.max_time:
            cmd += ["--max-time", str(args.max_time)]
        (work / "runs").mkdir(parents=True, exist_ok=True)
        log = open(work / "runs" / f"{_safe(model)}.log", "a")
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        procs[model] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    failed = []
    for model, proc in procs.items():
        if proc.wait() != 0:
            failed.append(model)
    if failed:
        raise SystemExit(f"training failed for {failed}: see {work}/runs/*.log")


def warm_copy_required_cache(corpus: Path, data_root: str, tokenizer_dir: Path, windows: list[int], limit: int) -> None:
    """Tag every evaluation example's gold values once, before the evaluations start side by side:
    they then read the tags from the cache beside the corpus instead of each indexing the training
    text (about 50 s per job at 300M tokens). Only a speed-up: a job finding a value untagged tags it."""
    from transformers import AutoTokenizer

    from jrt.tasks import iter_task
    from jrt.tasks.copy_required import copy_required_values

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    values = [answer for task in TASKS for window in windows
              for ex in iter_task(task, tok, data_dir=data_root, context_length=window, limit=limit, seed=0,
                                  source="local")
              for answer in ex.answers]
    tags = copy_required_values(values, [corpus])
    print(f"copy-required tags: {sum(tags.values())} of {len(tags)} distinct gold values", file=sys.stderr)


def evaluate(args) -> None:
    """Every model x window x {default, twice} (+ JRT-RNN read-2x), several models side by side."""
    work = Path(args.work)
    corpus = work / "data" / "training_text.txt.gz"
    if not corpus.exists():   # prepare --probe leaves it out (or a job exporting it beside training died)
        _run([sys.executable, "-m", "jrt.train.probe", "export", "--data", str(work / "data")])
    windows = [int(w) for w in args.windows.split(",")]
    warm_copy_required_cache(corpus, args.data_root, work / "runs" / _safe(args.models.split(",")[0]) / "final_model",
                             windows, args.limit)
    jobs = []
    for model in args.models.split(","):
        final = work / "runs" / _safe(model) / "final_model"
        fills = ("pad", "repeat") if model.startswith("jrt") else ("pad",)
        for window in windows:
            for fill in fills:
                out = work / "eval" / _safe(model) / f"w{window}_{fill}"
                cmd = [sys.executable, "-m", "jrt.cli", "eval", "--model", str(final), "--tasks", ",".join(TASKS),
                       "--context-length", str(window), "--limit", str(args.limit), "--seed", "0",
                       "--batch-size", str(args.batch_size), "--data-dir", args.data_root, "--source", "local",
                       "--train-corpus", str(corpus), "--prefix-fill", fill, "--backend", "native",
                       "--dtype", "bfloat16", "--out", str(out), "--overwrite"]
                jobs.append((model, cmd))
    started: list[tuple[list[str], subprocess.Popen]] = []
    for _, cmd in jobs:
        while sum(p.poll() is None for _, p in started) >= args.parallel:
            time.sleep(1)
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        started.append((cmd, subprocess.Popen(cmd)))
    failed = [cmd[cmd.index("--out") + 1] for cmd, p in started if p.wait() != 0]  # every job, not the last few
    if failed:
        raise SystemExit(f"{len(failed)} evaluations failed: {', '.join(failed)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="tokenize the corpus with counterfactual recall examples; build the probe")
    p.add_argument("--data-root", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--tokenizer", default=None, help="default: <data-root>/tokenizers/gpt2")
    p.add_argument("--sources", default="imdb,swde,fda")
    p.add_argument("--recall-fraction", type=float, default=0.6,
                   help="size of the recall pool: recall tokens = fraction / (1 - fraction) x text tokens "
                        "(0.6: 66M tokens, 122k examples; a 300M-token run with a recall example in every "
                        "row uses 146k, so each is seen about 1.2 times; the pilot used 0.3)")
    p.add_argument("--recall-context-lengths", default="256,512,1000")
    p.add_argument("--drop-leaky", action="store_true",
                   help="leave out recall examples whose window still names the value they replaced "
                        "(new data: a new series, not comparable with runs on the default data)")
    p.add_argument("--windows", default=",".join(map(str, WINDOWS)), help="document windows of the probe (tokens)")
    p.add_argument("--probe-per-task", type=int, default=128,
                   help="held-out examples per task and window in the learning-curve probe")
    p.add_argument("--probe", default=None,
                   help="use this probe (.json or .json.gz) built earlier from the same data instead of building "
                        "one, e.g. the series' results/copy_recall_300m/probe.json.gz; saves the ~110 s of "
                        "exporting the training text and tagging, which `eval` then does if still needed")
    p.add_argument("--seed", type=int, default=1111)
    t = sub.add_parser("train", help="train the models side by side on one GPU (equal tokens, same data order)")
    t.add_argument("--work", required=True)
    t.add_argument("--models", default=",".join(MODELS))
    t.add_argument("--tokens", default="120e6", help="tokens per model")
    t.add_argument("--seq-len", type=int, default=2048)
    t.add_argument("--micro-batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--recall-rows", type=float, default=1.0,
                   help="fraction of training rows that carry one recall example (jrt train --recall-rows; "
                        "the pilot used 0.5)")
    t.add_argument("--seed", type=int, default=1111)
    t.add_argument("--curve-points", type=int, default=12, help="probe evaluations over the run")
    t.add_argument("--eval-tokens", type=int, default=131072)
    t.add_argument("--max-time", type=float, default=None, help="safety stop per model, seconds")
    e = sub.add_parser("eval", help="jrt eval of every final model (default/twice/read-2x x windows)")
    e.add_argument("--work", required=True)
    e.add_argument("--data-root", required=True)
    e.add_argument("--models", default=",".join(MODELS))
    e.add_argument("--windows", default=",".join(map(str, WINDOWS)), help="document windows to evaluate at (tokens)")
    e.add_argument("--limit", type=int, default=300)
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--parallel", type=int, default=6,
                   help="evaluation jobs at once (one model: 3 windows, x2 fills for JRT-RNN, fit in one round)")
    r = sub.add_parser("report", help="tables and learning curves from a work folder or committed results")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        args.tokenizer = args.tokenizer or os.path.join(args.data_root, "tokenizers", "gpt2")
        prepare(args)
    elif args.command == "train":
        train(args)
    elif args.command == "eval":
        evaluate(args)
    else:
        from copy_recall_report import report

        report(Path(args.work), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
