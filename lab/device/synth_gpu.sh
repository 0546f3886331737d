#!/usr/bin/env bash
# Synthetic recall sweeps on ONE GPU (H100) in under 9 minutes of wall time:
#   MQAR (seq len 256 and 1024, 16-128 kv pairs, d_model 64-256) and set disjointness (paper grid
#   d_model {36..128} x feature dim {4..24} x lr x 2 seeds, visited in a state-spreading order and cut
#   by the time budget), for attention, causal Based, Based + JRT-Prompt, JRT-RNN, Mamba2 (+ JRT-Prompt),
#   and GLA where fla imports. Each sweep runs as 3 shards side by side on the GPU (small models do
#   not fill an H100). Results: $OUT/{mqar,set-disjointness}/{runs/*.json,results.json,table.txt,*.png}.
#
#   OUT=results/synthetics/gpu bash lab/device/synth_gpu.sh
#   BUDGET_MIN=6 (minutes after which no new run starts), HARD_S=470 (each sweep process is killed
#   after this; finished runs are on disk), PYTHON=python, JRT_TRITON_AUTOTUNE=first (fast compiles)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-results/synthetics/gpu}
PY=${PYTHON:-python}
BUDGET_MIN=${BUDGET_MIN:-6}
HARD_S=${HARD_S:-470}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export JRT_CACHE=${JRT_CACHE:-/tmp/jrt_synth_cache}
export TOKENIZERS_PARALLELISM=false
# one Triton config per kernel: each sweep run is short, so compile time matters more than the last 10%
export JRT_TRITON_AUTOTUNE=${JRT_TRITON_AUTOTUNE:-first}
mkdir -p "$OUT/mqar" "$OUT/set-disjointness"
T0=$(date +%s)
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
  $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  $PY -c "import triton; print('triton', triton.__version__)" 2>/dev/null
  $PY -c "import fla; print('fla', fla.__version__)" 2>/dev/null || echo "fla: not available (GLA skipped)"
} > "$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

# 1) generate and cache every dataset once, so the shards do not race to build them
$PY - <<'PYEOF'
import time
from jrt.synthetics.data import load_split
from jrt.synthetics.sweeps import mqar, set_disjointness
t = time.time()
todo = {(repr(c.task), c.data_seed): (c.task, c.data_seed) for c in mqar.runs() + set_disjointness.runs()}
for task, seed in todo.values():
    for split in ("train", "test"):
        load_split(task, split, seed)
print(f"datasets ready in {time.time() - t:.0f}s")
PYEOF

# 2) both sweeps, three shards each, side by side on the one GPU
pids=()
for shard in 0 1 2; do
  timeout "$HARD_S" $PY -m jrt.cli synth --sweep mqar --out "$OUT/mqar" --shard $shard/3 \
      --max-minutes "$BUDGET_MIN" --no-progress > "$OUT/mqar/log_shard$shard.txt" 2>&1 &
  pids+=($!)
  timeout "$HARD_S" $PY -m jrt.cli synth --sweep set-disjointness --out "$OUT/set-disjointness" --shard $shard/3 \
      --max-minutes "$BUDGET_MIN" --no-progress > "$OUT/set-disjointness/log_shard$shard.txt" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || echo "a sweep shard exited with $? (timeout: finished runs are kept)"; done

# 3) merged tables and plots
for s in mqar set-disjointness; do
  $PY -m jrt.cli synth --plot "$OUT/$s" > "$OUT/$s/report.txt" 2>&1 || echo "plot $s failed"
  echo "== $s"; cat "$OUT/$s/table.txt" 2>/dev/null
  grep -h '"skipped"' -A3 "$OUT/$s"/sweep_meta_*.json 2>/dev/null | head -8
done
echo "total wall time: $(( $(date +%s) - T0 ))s"
