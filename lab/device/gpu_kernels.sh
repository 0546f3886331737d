#!/usr/bin/env bash
# The kernel checks and benchmarks, in one go on a GPU box (about 8 minutes at most):
#   GPU tests (tests/gpu, tests/ops), the Triton interpreter tests, prefill and training benchmarks.
# Everything lands under $OUT (default ./results/benchmarks). Each step has its own time limit so a
# hang or a slow compile cannot eat the others; the exit status is non-zero if any step failed.
# Usage: bash lab/device/gpu_kernels.sh            (from the repository root)
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:-./results/benchmarks}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
status=0
{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
  "$PY" -c "import fla; print('fla', getattr(fla, '__version__', '?'))" 2>&1 | tail -1
} | tee "$OUT/env.txt"

step() {  # step NAME SECONDS CMD...
  local name=$1 secs=$2; shift 2
  local t0=$SECONDS
  echo "=== $name (limit ${secs}s): $*" | tee -a "$OUT/gpu_kernels.log"
  timeout --signal=INT --kill-after=15 "$secs" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $((SECONDS - t0))s" | tee -a "$OUT/gpu_kernels.log"
  [ "$rc" -ne 0 ] && status=1
  return 0
}

# tests: one autotune config per kernel (compiles 4x faster; the interpreter tests cover the
# other chunk/block sizes and compile_check compiles them all); benchmarks: the full autotune set.
step pytest_gpu 180 env JRT_TRITON_AUTOTUNE=first "$PY" -m pytest -q -x -p no:cacheprovider tests/gpu tests/ops --durations=15
step pytest_interpret 45 env TRITON_INTERPRET=1 "$PY" -m pytest -q -p no:cacheprovider tests/ops/test_triton_interpret.py
step bench_prefill 165 "$PY" benchmarks/prefill.py --out "$OUT"
step bench_train 80 "$PY" benchmarks/train_step.py --out "$OUT"
echo "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
exit $status
