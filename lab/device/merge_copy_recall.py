"""Merge one stretch's copy.tgz (lab/device/copy_recall.sh wait) into a series' results folder.

    python lab/device/merge_copy_recall.py /work/.device/N/copy.tgz results/copy_recall_300m

A series trains one model per GPU stretch, so its results folder grows by one model per stretch. This
checks that the new model belongs to the series before copying anything:
  - every new run's `data_manifest_hash` equals the series' `data_manifest.json` hash;
  - the stretch's probe (`probe.json.gz`) holds the same examples as the series' probe;
  - no model of the stretch is in the series already (--force replaces it).
Then it copies runs/<model>/ and eval/<model>/, and writes the job log (tqdm progress lines removed)
and env.txt into runs/<model>/. Exit 2 with one line on any failed check; nothing is copied then.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

# a tqdm refresh: "...| 123/456 [00:01<00:02, 12.3tok/s]" or an empty bar "[00:00, ?doc/s]"
_PROGRESS = re.compile(r"(\d+(\.\d+)?|\?)\s*[a-z]+/s\]")


class MergeError(Exception):
    pass


def strip_progress(text: str) -> str:
    """Log text without tqdm refresh lines (carriage returns split them) and blank lines."""
    lines = text.replace("\r", "\n").split("\n")
    return "\n".join(line for line in lines if line.strip() and not _PROGRESS.search(line)) + "\n"


def _probe_examples(path: Path) -> list:
    with gzip.open(path, "rt") as f:
        return json.load(f)["examples"]


def merge(tgz: Path, series: Path, force: bool = False) -> list[str]:
    """Merge the stretch in `tgz` into `series`; returns the merged model names."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        root = Path(tmp)
        out = root / "out"
        if not (out / "runs").is_dir():
            raise MergeError(f"{tgz}: no out/runs/ inside (not a copy_recall.sh result)")
        expected = json.loads((series / "data_manifest.json").read_text())["hash"]
        models = sorted(p.name for p in (out / "runs").iterdir() if p.is_dir())
        if not models:
            raise MergeError(f"{tgz}: no runs inside")
        for m in models:
            config = out / "runs" / m / "run_config.json"
            if not config.is_file():
                raise MergeError(f"{m}: no run_config.json (the run did not start?)")
            got = json.loads(config.read_text()).get("data_manifest_hash")
            if got != expected:
                raise MergeError(f"{m}: data hash {str(got)[:12]}... is not the series' {expected[:12]}...")
            if not (out / "runs" / m / "summary.json").is_file():
                raise MergeError(f"{m}: no summary.json (training did not finish)")
            if (series / "runs" / m).exists() and not force:
                raise MergeError(f"{m} is in {series} already (--force replaces it)")
        if _probe_examples(out / "probe.json.gz") != _probe_examples(series / "probe.json.gz"):
            raise MergeError("the stretch's probe differs from the series' probe")
        log = root / "job.log"
        for m in models:
            for sub in ("runs", "eval"):
                src, dst = out / sub / m, series / sub / m
                if src.is_dir():
                    if dst.exists():
                        shutil.rmtree(dst)
                    shutil.copytree(src, dst)
            if log.is_file():
                (series / "runs" / m / "job.log").write_text(strip_progress(log.read_text(errors="replace")))
            if (out / "env.txt").is_file():
                shutil.copy(out / "env.txt", series / "runs" / m / "env.txt")
        return models


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tgz", type=Path)
    p.add_argument("series", type=Path, help="the series' results folder (holds data_manifest.json, probe.json.gz)")
    p.add_argument("--force", action="store_true", help="replace a model the series already holds")
    args = p.parse_args(argv)
    try:
        models = merge(args.tgz, args.series, args.force)
    except (MergeError, FileNotFoundError, tarfile.TarError) as e:
        print(f"merge_copy_recall: error: {e}", file=sys.stderr)
        return 2
    print(f"merged {', '.join(models)} into {args.series}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
