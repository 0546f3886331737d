#!/usr/bin/env bash
# Triton kernels v2 (issue 17) on one CUDA GPU, from the repository root. Step limits: 200 + 140 + 140 +
# 35 s for the default four (515 s), 240 s for `generate`, 300 s for `tune_bwd`: name steps so one
# device call stays under 600 s.
#   1. pytest (limit 200 s): the batch-invariance tests of tests/models/test_model.py (compiled on
#      CUDA; first, so the limit never cuts them), tests/gpu/test_kernels_v2.py (every forward
#      kernel x schedule: forward, state, gradients vs fp32 naive; the config selection on this
#      device), tests/gpu/test_triton_gpu.py and tests/ops/test_based_sym.py;
#      one autotune config per kernel (JRT_TRITON_AUTOTUNE=first: the first of this architecture's
#      set, on sm_90 the measured winner), so compiles stay short.
#   2. benchmarks/prefill.py (limit 140 s): B=16, T=32768, and B in {1, 4} at T=16384 (the segmented
#      walk, where the default kernel is still the full one), H=16, F=16, D=64, bf16: Based, PLA
#      (decoder T + prefix T/2) and JRT-Prompt (Based over 2T) with --kernel default (no kernel
#      argument: what a plain call gets, named jrt_based etc.), sym and full (schedule: the
#      library's choice, the walk at this T), and the FlashAttention-2 baseline (flash_attn2 if flash_attn
#      imports, and torch SDPA's flash backend as sdpa_flash either way; the JSON's "baseline" says
#      which). Default autotune sets, no JRT_* variables.
#   3. benchmarks/train_step.py (limit 140 s): forward + backward, B=16, T in {2048, 8192}: PLA and Based,
#      --kernel sym full x --schedule walk chunk, and the same baselines; then (limit 35 s) PLA with
#      no kernel/schedule arguments (the library defaults), into $OUT/default/train.json.
#   4. summary.json: each step's exit status and seconds, every timing in one flat table, and the
#      fastest kernel / schedule per case (what DEFAULT_KERNEL and CHUNK_PARALLEL_MAX_T in
#      src/jrt/ops/triton/_configs.py should be on this card).
#   5. (only when named) benchmarks/generate.py (limit 240 s): decode of jrt-360m, graphed and compiled +
#      graphed (issue 17's decode target), against the graphed static-cache Llama, B in {1, 16},
#      prompts 1024 and 8192, into $OUT/generate/.
#   7. (only when named) profile_decode (limit 240 s): the jrt-360m decode step under the torch profiler at
#      B = 1 and 16, eager, graphed and torch.compile'd (kernels per step, kernel time, top kernels):
#      what still separates the compiled + graphed step from the 1.0 ms target; $OUT/profile_decode/.
#   8. (only when named) skinny (limit 300 s): the skinny-linear decode path: its GPU tests (bf16 against
#      cuBLAS, the cuda-graphed decoder against eager), then benchmarks/generate.py with
#      jrt-compile-graph (the default: skinny linear in bf16 on CUDA) and jrt-compile-cublas-graph at B in
#      {1, 16}, prompt 1024 (same run, same process), each checked against eager and a float32 copy
#      (compare_with_eager); $OUT/skinny/ and skinny.log. (Steps 5 and 7 skip the float32 reference.)
#  8b. (only when named) skinny_full (limit 400 s; 200 s did not reach a row on a fresh H200): jrt-compile-graph at B = 1, prompt 1024, with
#      JRT_TRITON_AUTOTUNE=full (the skinny kernel's set plus deeper pipelines: BLOCK_K 512, 4
#      stages, 8 warps); against step 8's 1.133 ms (H200); $OUT/skinny_full/.
#   6. (only when named) tune_bwd (limit 300 s): benchmarks/tune_kernels.py --skip-fwd, the backward
#      configs (BT x value block BD x warps x stages) timed on PLA forward + backward at T = 2048 and
#      8192, B = 16, into $OUT/tune_bwd/tune.json: which BD the sm_90 backward set should name.
# Files written to $OUT (8 for steps 1-4): pytest.log, prefill.json, prefill.log, train.json, train.log,
# default/train.json, train_default.log, summary.json; step 5 adds generate.log and generate/generate.{json,md}.
# Usage: OUT=/path bash lab/device/kernels_v2.sh [STEP ...]   (steps: pytest prefill train train_default, and generate, profile_decode, skinny, skinny_full, tune_bwd;
#        default: the first four; PYTHON=... picks the interpreter; default python)
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
STEPS="$OUT/.steps"
: > "$STEPS"
status=0

ONLY=" $* "
step() {  # step NAME SECONDS CMD...   (SIGINT at the limit: pytest and the benchmarks still report)
  local name=$1 secs=$2; shift 2
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then return 0; fi
  local t0=$SECONDS
  echo "=== $name (limit ${secs}s): $*"
  timeout --signal=INT --kill-after=15 "$secs" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name $rc $((SECONDS - t0))" >> "$STEPS"
  echo "=== $name: exit $rc after $((SECONDS - t0))s"
  tail -n 5 "$OUT/$name.log"
  [ "$rc" -ne 0 ] && status=1
  return 0
}

step pytest 200 env JRT_TRITON_AUTOTUNE=first "$PY" -m pytest -q -p no:cacheprovider -rf --durations=10 \
  "tests/models/test_model.py::test_batched_logits_equal_each_row_alone" \
  "tests/models/test_model.py::test_batched_generation_equals_each_row_alone" \
  "tests/models/test_model.py::test_explicit_decoder_batched_equals_each_row_alone" \
  "tests/models/test_model.py::test_cuda_graph_decoder_equals_eager" \
  "tests/models/test_model.py::test_compiled_decoder_equals_eager_and_compiles_once" \
  tests/gpu/test_kernels_v2.py tests/gpu/test_triton_gpu.py tests/ops/test_based_sym.py
step prefill 140 "$PY" benchmarks/prefill.py --out "$OUT" --formats json --seq-lens 32768 --batches 1 4 \
  --kernel default sym full --methods jrt_pla jrt_based jrt_prompt flash_attn2 sdpa_flash --warmup 10 --rep 30
step train 140 "$PY" benchmarks/train_step.py --out "$OUT" --formats json --seq-lens 2048 8192 \
  --kernel sym full --schedule walk chunk --methods jrt_pla jrt_based flash_attn2 sdpa_flash --warmup 10 --rep 40
step train_default 35 "$PY" benchmarks/train_step.py --out "$OUT/default" --formats json --seq-lens 2048 8192 \
  --methods jrt_pla --warmup 10 --rep 40
# not in the default set (all steps would bring back more than the device's 8 files): name them
[[ "$ONLY" == *" generate "* ]] && step generate 240 "$PY" benchmarks/generate.py --out "$OUT/generate" \
  --methods jrt-graph,jrt-compile-graph,llama-static-graph --batches 1,16 --prompts 1024,8192 --new-tokens 65 --repeats 3 \
  --no-check-reference
[[ "$ONLY" == *" profile_decode "* ]] && step profile_decode 240 "$PY" benchmarks/generate.py \
  --out "$OUT/profile_decode" --methods jrt-compile-graph --batches 1 --prompts 1024 --new-tokens 65 --repeats 3 \
  --no-check-reference \
  --profile-step --profile-compiled --profile-batches 1,16 --profile-prompt 1024 --profile-steps 20
[[ "$ONLY" == *" skinny "* ]] && step skinny 300 bash -c 'JRT_TRITON_AUTOTUNE=first "$0" -m pytest -q -p no:cacheprovider -rf \
  tests/ops/test_skinny_linear.py "tests/models/test_model.py::test_skinny_linear_decoder_equals_eager" \
  "tests/models/test_model.py::test_decoder_skinny_linear_default"; t=$?
  "$0" benchmarks/generate.py --out "$1/skinny" --methods jrt-compile-graph,jrt-compile-cublas-graph \
    --batches 1,16 --prompts 1024 --new-tokens 65 --repeats 3 || exit $?; exit $t' "$PY" "$OUT"
[[ "$ONLY" == *" skinny_full "* ]] && step skinny_full 400 env JRT_TRITON_AUTOTUNE=full "$PY" benchmarks/generate.py \
  --out "$OUT/skinny_full" --methods jrt-compile-graph --batches 1 --prompts 1024 --new-tokens 65 --repeats 3 \
  --no-check-reference
[[ "$ONLY" == *" tune_bwd "* ]] && step tune_bwd 300 "$PY" benchmarks/tune_kernels.py --skip-fwd --jobs 16 \
  --time-budget 200 --bwd-seq-lens 2048,8192 --out "$OUT/tune_bwd"

"$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
steps = {}
for line in (out / ".steps").read_text().split("\n"):
    if line.strip():
        name, rc, secs = line.split()
        steps[name] = {"exit": int(rc), "seconds": int(secs)}
summary = {"steps": steps, "timings_ms": {}, "fastest": {}}
for stem, path in (("prefill", out / "prefill.json"), ("train", out / "train.json"),
                   ("train_default", out / "default" / "train.json")):
    if not path.exists():
        continue
    res = json.loads(path.read_text())
    summary.setdefault("baseline", res.get("baseline"))
    summary.setdefault("card", res.get("env", {}).get("card"))
    summary.setdefault("library_defaults", res.get("settings", {}).get("library_defaults"))
    summary.setdefault("sanity", res.get("sanity"))
    for sweep in res.get("sweeps", []):
        for method, cells in sweep["cells"].items():
            for x, cell in cells.items():
                key = f"{stem} {method} {sweep['axis']}={x}"
                summary["timings_ms"][key] = cell.get("ms") if cell.get("ms") is not None else cell.get("error")
# fastest variant per (stem, base method, shape): "jrt_pla[sym,chunk]" -> base jrt_pla, variant sym,chunk
groups = {}
for key, ms in summary["timings_ms"].items():
    stem, method, shape = key.split(" ")
    if "[" in method and isinstance(ms, float):
        base, variant = method[:-1].split("[")
        groups.setdefault(f"{stem} {base} {shape}", {})[variant] = ms
for case, variants in groups.items():
    best = min(variants, key=variants.get)
    summary["fastest"][case] = {"best": best, "ms": variants}
(out / "summary.json").write_text(json.dumps(summary, indent=1))
print(json.dumps(summary["fastest"], indent=1))
PYEOF
rm -f "$STEPS"
echo "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
exit $status
