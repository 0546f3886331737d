#!/usr/bin/env bash
# Focused synthetic sweeps on ONE GPU: every run of each sweep file in its own process, all side by
# side (the models are far too small to fill an H100), then one table + plots per sweep.
#   SWEEPS="src/jrt/synthetics/sweeps/sd_focus.py:8:180 src/jrt/synthetics/sweeps/mqar_seeds.py:6:240" \
#     OUT=DIR bash lab/device/synth_session.sh
# Each entry is FILE:SHARDS:MAX_SECONDS[:KEY=VALUE;KEY=VALUE...] (SHARDS processes, each run trains at most
# MAX_SECONDS; the optional KEY=VALUE pairs go to the sweep's runs() as further --set options).
# HARD_S (500) kills what is still running; finished runs are on disk as JSON.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-results/synthetics/session}
PY=${PY:-python3}
HARD_S=${HARD_S:-500}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export JRT_CACHE=${JRT_CACHE:-/tmp/jrt_synth_cache}
# chunked torch ops: each run is short and the shapes vary, so Triton compile time would dominate
export JRT_OPS_BACKEND=${JRT_OPS_BACKEND:-torch}
mkdir -p "$OUT"
{ date -u; nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null
  $PY -c "import torch; print('torch', torch.__version__)"; } > "$OUT/environment.txt" 2>&1
pids=()
for entry in ${SWEEPS:?set SWEEPS}; do
  IFS=: read -r file shards secs extra <<< "$entry"
  sets=(--set "max_seconds=$secs")
  IFS=";" read -r -a kvs <<< "${extra:-}"
  for kv in "${kvs[@]}"; do [ -n "$kv" ] && sets+=(--set "$kv"); done
  name=$(basename "$file" .py)
  mkdir -p "$OUT/$name"
  # build each dataset once before the shards start, so that they do not race to write the cache
  $PY - "$file" "${kvs[@]}" <<'EOF'
import ast, importlib.util, sys
from jrt.synthetics.data import load_split
spec = importlib.util.spec_from_file_location("sweep", sys.argv[1]); mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
kw = {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in sys.argv[2:] if a)}  # the entry's --set pairs
for c in {(repr(c.task), c.data_seed): c for c in mod.runs(**kw)}.values():
    for split in ("train", "test"):
        load_split(c.task, split, c.data_seed)
EOF
  for ((i = 0; i < shards; i++)); do
    timeout "$HARD_S" $PY -m jrt.cli synth --sweep "$file" --out "$OUT/$name" --shard "$i/$shards" \
        "${sets[@]}" --no-progress > "$OUT/$name/log_shard$i.txt" 2>&1 &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p" || echo "a shard exited with $? (timeout: finished runs are kept)"; done
for entry in $SWEEPS; do
  name=$(basename "${entry%%:*}" .py)
  $PY -m jrt.cli synth --plot "$OUT/$name" > "$OUT/$name/report.txt" 2>&1 || echo "plot $name failed"
  echo "== $name"; cat "$OUT/$name/table.txt" 2>/dev/null
done
