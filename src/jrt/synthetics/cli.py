"""`jrt synth`: the CPU demo, GPU sweeps and plots of synthetic recall.

    jrt synth --preset demo                      # CPU, a few minutes: JRT vs causal Based on MQAR
    jrt synth --sweep mqar --out DIR             # GPU sweeps (see jrt/synthetics/sweeps/*.py)
    jrt synth --sweep set-disjointness --out DIR [--max-minutes M] [--shard I/N]
    jrt synth --plot RESULTS_DIR                 # table + PNGs from the per-run JSON files
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("synth", help="synthetic recall (MQAR, set disjointness): demo, sweeps, plots",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", choices=["demo"], help="a small fixed run (demo: CPU, a few minutes)")
    what.add_argument("--sweep", help="mqar | set-disjointness | path/to/sweep.py")
    what.add_argument("--plot", metavar="RESULTS_DIR", help="make the table and plots from a results dir")
    p.add_argument("--out", default=None, help="output dir (default results/synthetics/<name>; the demo: runs/synthetics/demo)")
    p.add_argument("--device", default="auto", help="auto (cuda if available) | cpu | cuda | cuda:1 ...")
    p.add_argument("--cache-dir", default=None, help="dataset cache (default $JRT_CACHE or ~/.cache/jrt/synthetics)")
    p.add_argument("--max-minutes", type=float, default=None, help="sweeps: start no new run after this")
    p.add_argument("--shard", default="0/1", help="sweeps: I/N runs every N-th config starting at I")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a keyword of the sweep's runs() (python literal), e.g. --set steps=500")
    p.add_argument("--no-resume", action="store_true", help="sweeps: rerun configs that already have results")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=main)


def _parse_overrides(items):
    import ast

    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def main(args) -> int:
    from . import plots
    from .runner import load_results, run_sweep

    if args.plot:
        results = load_results(args.plot)
        if not results:
            print(f"no results found under {args.plot}", file=sys.stderr)
            return 1
        paths = plots.make_report(results, args.out or args.plot)
        print(plots.results_table(results))
        print(json.dumps(paths, indent=1))
        return 0
    if args.preset == "demo":
        from .sweeps import demo

        return demo.main(out=args.out, device=args.device, cache_dir=args.cache_dir,
                         progress=not args.no_progress)
    from .sweeps import load_sweep

    module = load_sweep(args.sweep)
    configs = module.runs(**_parse_overrides(args.set))
    i, n = (int(x) for x in args.shard.split("/"))
    name = Path(args.sweep).stem.replace("_", "-")
    out = Path(args.out or Path("results/synthetics") / name)
    t0 = time.time()
    print(f"sweep {args.sweep}: {len(configs)} configs, shard {i}/{n}, out {out}", flush=True)
    results = run_sweep(configs, out, args.device, args.cache_dir, args.max_minutes, (i, n),
                        resume=not args.no_resume, progress=not args.no_progress)
    all_results = load_results(out)  # all shards finished so far
    paths = plots.make_report(all_results, out)
    print(plots.results_table(results))
    print(f"{len(results)} runs in {time.time() - t0:.0f}s; report: {json.dumps(paths)}")
    return 0
