"""The generated tables in README.md / docs/ are what scripts/tables.py makes from the raw files."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_generated_tables_match_raw_files():
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "tables.py"), "--check"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
