#!/usr/bin/env bash
# Lab wrapper (how this project ran it on a borrowed 2-GPU machine) around scripts/multi_gpu_scaling.py,
# which holds the logic and runs on any multi-GPU CUDA host. Logs land under $OUT/multi_gpu/.
#   OUT=... NGPU=2 STEPS=30 bash lab/device/multi_gpu.sh     (prepared data in .gpu_data/data)
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0
PY=${PY:-python3}
"$PY" scripts/multi_gpu_scaling.py --data "${GPU_DATA:-.gpu_data/data}" --out "${OUT:-runs/multi_gpu}/multi_gpu" \
    --ngpu "${NGPU:-2}" --steps "${STEPS:-30}" --steps-360m 12 --run-timeout "${RUN_TIMEOUT:-60}"
"$PY" scripts/scaling_table.py "${OUT:-runs/multi_gpu}/multi_gpu/multi_gpu.json" \
    --steps "${OUT:-runs/multi_gpu}/multi_gpu/steps.jsonl" > "${OUT:-runs/multi_gpu}/multi_gpu/table.md"
