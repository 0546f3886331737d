#!/usr/bin/env bash
# One device call on a 2-GPU H100 machine (what produced the committed kernel, synthetic and
# multi-GPU results): phase A runs two independent jobs side by side, phase B uses both GPUs.
#   GPU 0: kernel config sweep (tune_kernels.py), then prefill.py and train.py with the winners
#   GPU 1: synthetic-recall sweeps (synth_gpu.sh)
#   both : multi_gpu.sh (1 GPU vs DDP vs FSDP2)
# Everything is written under $R and packed into $OUT/session.tgz (the device returns <= 8 files).
set -u
cd "$(dirname "$0")/../.."
R=${R:-/tmp/session}; mkdir -p "$R/kernels" "$R/synth"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
(
  export CUDA_VISIBLE_DEVICES=0
  timeout 150 $PY benchmarks/tune_kernels.py --out "$R/kernels" --jobs 24 --max-fwd 30 --time-budget 90 > "$R/kernels/tune.log" 2>&1
  if [ -f "$R/kernels/tune.json" ]; then
    export JRT_TRITON_FWD_CONFIGS=$($PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([d['best_fwd']]) if d['best_fwd'] else '')" "$R/kernels/tune.json")
    export JRT_TRITON_BWD_CONFIGS=$($PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([d['best_bwd']]) if d['best_bwd'] else '')" "$R/kernels/tune.json")
  fi
  echo "fwd: ${JRT_TRITON_FWD_CONFIGS:-autotune} bwd: ${JRT_TRITON_BWD_CONFIGS:-autotune}" > "$R/kernels/chosen_configs.txt"
  printf "export JRT_TRITON_FWD_CONFIGS='%s' JRT_TRITON_BWD_CONFIGS='%s'\n" "${JRT_TRITON_FWD_CONFIGS:-}" "${JRT_TRITON_BWD_CONFIGS:-}" > "$R/kernels/chosen.env"
  timeout 120 $PY benchmarks/prefill.py --out "$R/kernels" > "$R/kernels/prefill.log" 2>&1
  timeout 70 $PY benchmarks/train_step.py --out "$R/kernels" > "$R/kernels/train.log" 2>&1
) &
( CUDA_VISIBLE_DEVICES=1 OUT="$R/synth" BUDGET_MIN=${SYNTH_MIN:-3.5} HARD_S=${SYNTH_HARD_S:-300} \
    bash lab/device/synth_gpu.sh > "$R/synth/run.log" 2>&1 ) &
wait
tar czf "$OUT/session.tgz" -C "$R" .   # phase A's results are safe even if phase B runs out of time
# phase B uses the kernel configs chosen in phase A (no autotuning inside the timed runs)
[ -f "$R/kernels/chosen.env" ] && . "$R/kernels/chosen.env"
OUT_BAK=$OUT; OUT="$R" NGPU=2 STEPS=${MG_STEPS:-15} RUN_TIMEOUT=${MG_TIMEOUT:-75} bash lab/device/multi_gpu.sh > "$R/multi_gpu.log" 2>&1; OUT=$OUT_BAK
tail -5 "$R/kernels/tune.log"; cat "$R/kernels/chosen_configs.txt"; tail -40 "$R/kernels/prefill.md" 2>/dev/null
cat "$R/kernels/train.md" 2>/dev/null | head -30; tail -15 "$R/synth/run.log"; tail -8 "$R/multi_gpu.log"
tar czf "$OUT/session.tgz" -C "$R" .
