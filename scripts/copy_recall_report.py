"""Markdown table of the copy-recall experiment from its committed raw files (results/copy_recall).

    python scripts/copy_recall_report.py [--results results/copy_recall]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def table(results: Path) -> str:
    lines = ["| model | tokens | window | fill | task | all % [95% CI] (n) | copy-required % [95% CI] (n) |",
             "|---|---|---|---|---|---|---|"]
    for f in sorted(results.glob("eval/*/*/results.json")):
        model, cfg = f.parent.parent.name, f.parent.name
        summary = json.loads((results / "runs" / model / "summary.json").read_text()) \
            if (results / "runs" / model / "summary.json").exists() else {}
        stats = json.loads(f.read_text())["summary"]["stats"]
        window, fill = cfg[1:].split("_")
        for task, s in stats.items():
            cells = []
            for group in ("all", "copy_required"):
                g = s[group]
                cells.append(f"{100 * g['contains']:.1f} [{100 * g['ci95'][0]:.1f}, {100 * g['ci95'][1]:.1f}] ({g['n']})")
            lines.append(f"| {model} | {summary.get('tokens', 0) / 1e6:.1f}M | {window} | {fill} | {task} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(work: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table(work))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results/copy_recall")
    args = parser.parse_args(argv)
    sys.stdout.write(table(Path(args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
