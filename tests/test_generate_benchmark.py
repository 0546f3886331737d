"""benchmarks/generate.py --quick on CPU: every jrt decode method runs end to end and records its
mode (and, for the compiled step, its agreement with eager decoding), so a broken method is seen here rather than on a borrowed GPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_generate_quick_jrt_methods(tmp_path):
    cmd = [sys.executable, "generate.py", "--quick", "--out", str(tmp_path), "--methods", "jrt-graph,jrt-compile-graph",
           "--prompts", "48", "--batches", "2"]
    r = subprocess.run(cmd, cwd=REPO / "benchmarks", capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=str(REPO / "src"), CUDA_VISIBLE_DEVICES=""))  # the CPU path
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / "generate.json").read_text())["rows"]
    by_method = {row["method"]: row for row in rows}
    assert set(by_method) == {"jrt-graph", "jrt-compile-graph"}
    for row in rows:
        assert "error" not in row and row["decode_tokens_per_s"] > 0, row
    assert by_method["jrt-compile-graph"]["decode_mode"].startswith("compiled")
    # the compiled step is checked against the eager decoder on every run (CPU: no graph, so jrt-graph
    # is the eager path itself and has nothing to compare)
    assert by_method["jrt-compile-graph"]["vs_eager_token_match"] == 1.0
    assert "vs_eager_token_match" not in by_method["jrt-graph"]
