"""benchmarks/generate.py --quick on CPU: every jrt decode method runs end to end and records its
mode (and, for the compiled step, its agreement with eager decoding), so a broken method is seen here rather than on a borrowed GPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_generate_quick_jrt_methods(tmp_path):
    cmd = [sys.executable, "generate.py", "--quick", "--out", str(tmp_path), "--methods", "jrt-graph,jrt-compile-graph,jrt-compile-cublas-graph",
           "--prompts", "48", "--batches", "2"]
    r = subprocess.run(cmd, cwd=REPO / "benchmarks", capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=str(REPO / "src"), CUDA_VISIBLE_DEVICES=""))  # the CPU path
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads((tmp_path / "generate.json").read_text())["rows"]
    by_method = {row["method"]: row for row in rows}
    assert set(by_method) == {"jrt-graph", "jrt-compile-graph", "jrt-compile-cublas-graph"}
    for row in rows:
        assert "error" not in row and row["decode_tokens_per_s"] > 0, row
    assert by_method["jrt-compile-graph"]["decode_mode"].startswith("compiled")
    # the compiled step is checked against the eager decoder on every run (CPU: no graph, so jrt-graph
    # is the eager path itself and has nothing to compare)
    # the default resolves skinny_linear on CUDA only: on CPU both compiled methods run the linears eagerly
    assert "skinny" not in by_method["jrt-compile-graph"]["decode_mode"]
    assert "skinny" not in by_method["jrt-compile-cublas-graph"]["decode_mode"]
    for method in ("jrt-compile-graph", "jrt-compile-cublas-graph"):
        compiled = by_method[method]
        assert compiled["vs_eager_token_match"] == 1.0, method
        # teacher-forced: every step's logits as the eager step's, up to float32 fusion rounding
        assert compiled["vs_eager_forced_argmax_match"] == 1.0 and compiled["vs_eager_flip_margin_max"] == 0.0
        assert 0 <= compiled["vs_eager_forced_max_logit_diff"] <= 1e-4 * max(compiled["vs_eager_logit_scale"], 1.0)
        # the float64 reference: both float32 steps within float32 rounding of it
        assert compiled["reference_dtype"] == "float64"
        for side in ("eager", "fast"):
            assert 0 < compiled[f"{side}_vs_reference_max_logit_diff"] <= 1e-4 * max(compiled["vs_eager_logit_scale"], 1.0)
    assert "vs_eager_token_match" not in by_method["jrt-graph"]


def test_profile_of_the_compiled_step(tmp_path):
    """--profile-step --profile-compiled on CPU: the compiled step is profiled beside the eager one and
    runs fewer ops per step (Inductor fuses the norms, activations and casts)."""
    cmd = [sys.executable, "generate.py", "--quick", "--out", str(tmp_path), "--methods", "jrt-graph",
           "--prompts", "48", "--batches", "1", "--profile-step", "--profile-compiled", "--profile-batches", "1"]
    r = subprocess.run(cmd, cwd=REPO / "benchmarks", capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=str(REPO / "src"), CUDA_VISIBLE_DEVICES=""))
    assert r.returncode == 0, r.stderr[-2000:]
    (prof,) = json.loads((tmp_path / "generate.json").read_text())["profile"]
    assert "error" not in prof, prof
    compiled = prof["compiled"]
    assert 0 < compiled["kernels_per_step"] < prof["kernels_per_step"], (compiled["kernels_per_step"],
                                                                         prof["kernels_per_step"])
    assert compiled["skinny_linear"] is False                     # CPU, float32: the default keeps F.linear
    assert "compiled step (torch.compile, no graph; linear layers on F.linear)" in (tmp_path / "generate_profile.md").read_text()
