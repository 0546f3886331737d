"""Repository layout rules: scripts answer --help, nothing edits sys.path, one results root."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_has_help(script):
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                       cwd=REPO)
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr


def test_no_sys_path_edits():
    needle = "sys.path." + "insert"   # split so this file does not match itself
    offenders = [str(p.relative_to(REPO)) for d in ("src", "tests", "benchmarks", "scripts")
                 for p in (REPO / d).rglob("*.py") if needle in p.read_text() or ("sys.path." + "append") in p.read_text()]
    assert not offenders, offenders


def test_one_results_root():
    assert not (REPO / "benchmarks" / "results").exists(), "speed results live under results/benchmarks/"


def test_files_named_by_the_lab_scripts_exist():
    """Every benchmarks/, scripts/ or tests/ file a lab/device script runs is in the repository (a
    renamed benchmark otherwise costs a GPU session before anyone notices)."""
    import re

    missing = []
    for sh in sorted((REPO / "lab" / "device").glob("*.sh")):
        for rel in re.findall(r"\b((?:benchmarks|scripts|tests)/[\w/.-]+\.(?:py|sh))\b", sh.read_text()):
            if not (REPO / rel).exists():
                missing.append(f"{sh.name}: {rel}")
    assert not missing, missing
