"""scripts/copy_recall.py end to end on CPU at toy size: prepare -> train -> eval -> report.

The experiment of docs/RESULTS.md section 3 spends a GPU session per run; this runs the same four
stages on the repository's fixture documents with tiny models, so a broken stage shows up here
first. Checked: equal tokens for every model, the probe records of the learning curves, every
evaluation cell written with copy-required tags, and the report's tables and figure.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
from train_helpers import REPO_ROOT, SUB_ENV, build_mini_root

SCRIPT = str(REPO_ROOT / "scripts" / "copy_recall.py")


def _run(*args, timeout=300):
    proc = subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT, env=SUB_ENV, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_copy_recall_stages_end_to_end(real_data_dir, tokenizer_dir, tmp_path):
    root, work = tmp_path / "root", tmp_path / "work"
    build_mini_root(real_data_dir, root)
    models = "jrt-tiny,hf-llama:tiny"
    _run("prepare", "--data-root", str(root), "--work", str(work), "--tokenizer", str(tokenizer_dir),
         "--windows", "256", "--probe-per-task", "2", "--recall-fraction", "0.5", "--recall-context-lengths", "200")
    _run("train", "--work", str(work), "--models", models, "--tokens", "1024", "--seq-len", "64",
         "--micro-batch-size", "2", "--curve-points", "2", "--eval-tokens", "128")
    _run("eval", "--work", str(work), "--data-root", str(root), "--models", models, "--windows", "256",
         "--limit", "1", "--batch-size", "1", "--parallel", "2")

    tokens = {}
    for run in ("jrt-tiny", "hf-llama_tiny"):
        summary = json.loads((work / "runs" / run / "summary.json").read_text())
        tokens[run] = summary["tokens"]
        probes = [json.loads(line) for line in (work / "runs" / run / "log.jsonl").read_text().splitlines()
                  if '"recall_probe"' in line]
        assert len(probes) >= 2 and "swde/256/all" in probes[-1]["recall_probe"]
    assert tokens == {"jrt-tiny": 1024, "hf-llama_tiny": 1024}
    cells = sorted(p.parent.relative_to(work / "eval").as_posix() for p in (work / "eval").glob("*/*/results.json"))
    assert cells == ["hf-llama_tiny/w256_pad", "jrt-tiny/w256_pad", "jrt-tiny/w256_repeat"]
    with gzip.open(work / "eval" / "jrt-tiny" / "w256_pad" / "samples_jrt_swde.jsonl.gz", "rt") as f:
        assert all("copy_required" in json.loads(line) for line in f)

    report = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "copy_recall_report.py"), "--results",
                             str(work), "--summary", "copy_required", "--plot", str(tmp_path / "curves.png")],
                            cwd=REPO_ROOT, env=SUB_ENV, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "| jrt-tiny (0M) | repeat |" in report.stdout and (tmp_path / "curves.png").stat().st_size > 0
