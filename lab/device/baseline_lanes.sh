#!/usr/bin/env bash
# Recurrent baselines at equal tokens, one model per GPU, for longer than one device call allows.
# Start it detached on a 2-GPU machine and poll it (each device call at most 600 s, back to back):
#   R= comes from bg.sh; PYTHONPATH must hold flash-linear-attention (carry .whl: docs/TRAINING.md section 5)
#   bash lab/device/bg.sh start lanes env LANE0=hf-mamba2:small LANE1=hf-gla:small bash lab/device/baseline_lanes.sh
#   OUT=$OUT bash lab/device/bg.sh wait lanes        # again and again until it reports "finished"
#
# Each model: trained on its GPU alone at the global batch of the 80M-token runs (micro-batch 8 x
# gradient accumulation 2 = 16 x 2048 tokens), the same prepared data, order and schedule
# (lab/device/train_gpu.sh), then evaluated there: SWDE/FDA default + twice (LIMIT, 200 documents),
# SQuAD/NQ default + twice (QA_LIMIT, 100; 0 skips them); JRT models also at context 500 on SWDE/FDA/NQ with
# left padding and with read-2x padding (the paper's Table 4).
#   LANE0, LANE1     models run on GPU 0 / GPU 1, one after another
#   EXTRA            models taken by whichever lane is free first, if EXTRA_NEED_S (600) seconds remain
#   TOKENS           training tokens per model (80000000)
#   DEADLINE_S       (1500) no training runs past DEADLINE_S - EVAL_RESERVE_S (360) and no evaluation
#                    starts after DEADLINE_S; a capped run is reported as such (tokens in results.json)
#   PRE_CHECKS       pytest node ids run on GPU 0 while it trains (fla baselines' padding/caching test)
# Measured (2 x H200, 2026-11-26, DEADLINE_S 1450, EVAL_RESERVE_S 240): Mamba2 trained 80M tokens in
# 1,053 s and GLA in 1,163 s (150 s / 590 s of it fla autotuning on a cold cache); GLA's SWDE/FDA
# evaluation did not finish in the 287 s left (autotuning again on the prompts' new shapes).
# Hence the larger defaults, the seeded autotune cache below, and fla's RMSNorms in PyTorch at
# evaluation (jrt.models.fla_norms). With those, one H200 (2026-11-26): Mamba2 1,031 s and GLA 580 s,
# training and all evaluations, one model per job (LANE0 only; results/baselines_fla_80m_recall/).
# Results under $R: one folder per model (train.out, run.log, results.json, log.jsonl, eval logs),
# all/ (results.md, recall_eval.md: every model side by side), triton_autotune.tgz (every autotuning
# result in Triton's cache, about 50 KB: commit it under lab/device/triton_autotune/ to seed the next
# session; TRITON_AUTOTUNE_SEED= picks the seed, empty for none).
set -u
cd "$(dirname "$0")/../.."
R=${R:?R=results folder (bg.sh sets it)}; mkdir -p "$R/all"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
  TOKENIZERS_PARALLELISM=false JRT_MAMBA2_SCAN=${JRT_MAMBA2_SCAN:-fla}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
RUNS=${RUNS_DIR:-runs/gpu_train}
TOKENS=${TOKENS:-80000000}; LIMIT=${LIMIT:-200}; QA_LIMIT=${QA_LIMIT:-100}
DEADLINE_S=${DEADLINE_S:-1500}; EVAL_RESERVE_S=${EVAL_RESERVE_S:-360}; EXTRA_NEED_S=${EXTRA_NEED_S:-600}
LANE0=${LANE0:-}; LANE1=${LANE1:-}; EXTRA=${EXTRA:-}
T0=$(date +%s)
left() { echo $(( DEADLINE_S - ($(date +%s) - T0) )); }
say() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

ev() {  # ev GPU MODEL TASKS LIMIT FILL SUBDIR CONTEXT
  local n=${2//:/_}
  [ "$(left)" -gt 10 ] || { say "deadline: skipping $2 $6"; return 0; }
  say "GPU $1: eval $2 $3 (fill $5, context $7)"
  CUDA_VISIBLE_DEVICES=$1 OUT="$R/$n/$6" MODELS=$2 EVAL_TASKS=$3 EVAL_LIMIT=$4 EVAL_PREFIX_FILL=$5 \
    EVAL_SUBDIR=$6 EVAL_CONTEXT=$7 timeout "$(left)" bash lab/device/train_gpu.sh eval > "$R/$n/$6.log" 2>&1
  say "GPU $1: eval $2 $6 exit $?"; grep -h "^|" "$R/$n/$6/recall_eval.md" 2>/dev/null | tail -n 4
}

run_model() {  # run_model GPU MODEL
  local g=$1 m=$2 n=${2//:/_}
  local cap=$(( $(left) - EVAL_RESERVE_S ))
  mkdir -p "$R/$n"; rm -rf "${RUNS:?}/$n"
  [ "$cap" -gt 60 ] || { say "deadline: not training $m"; return 0; }
  say "GPU $g: train $m, $TOKENS tokens, at most $cap s"
  CUDA_VISIBLE_DEVICES=$g OUT="$R/$n" MODELS=$m NPROC=1 MICRO_BS=8 GRAD_ACCUM=2 TOKENS=$TOKENS MAX_TIME=$cap \
    bash lab/device/train_gpu.sh train > "$R/$n/train.out" 2>&1
  cp "$RUNS/$n/log.jsonl" "$R/$n/" 2>/dev/null
  say "GPU $g: trained $m: $(grep -E 'max-time|!!!' "$R/$n/train.out" | tail -n 1)"
  grep -h "^|" "$R/$n/results.md" 2>/dev/null | tail -n 1
  [ -d "$RUNS/$n/final_model" ] || { say "GPU $g: no trained model for $m: no evaluation"; return 0; }
  ev "$g" "$m" swde,fda,swde_twice,fda_twice "$LIMIT" pad recall_eval 1000
  [ "$QA_LIMIT" -gt 0 ] && ev "$g" "$m" squad,nq,squad_twice,nq_twice "$QA_LIMIT" pad recall_eval_qa 1000
  case $m in jrt*)
    ev "$g" "$m" swde,fda,nq "$LIMIT" pad recall_eval_c500 500
    ev "$g" "$m" swde,fda,nq "$LIMIT" repeat recall_eval_c500_repeat 500 ;;
  esac
}

lane() {  # lane GPU MODELS...
  local g=$1; shift
  for m in "$@"; do run_model "$g" "$m"; done
  for m in $EXTRA; do  # a shared queue: mkdir is atomic, so each extra model runs once
    mkdir "$R/claimed_${m//:/_}" 2>/dev/null || continue
    if [ "$(left)" -ge "$EXTRA_NEED_S" ]; then run_model "$g" "$m"; else say "too late for $m"; fi
  done
}

nvidia-smi -L 2>/dev/null
# Seed Triton's cache with autotuning results from an earlier session (fla 0.6 autotunes each kernel
# for each new shape on first use: 150-400 s per model). fla asks Triton to cache results on disk,
# keyed by Triton version, kernel source and shape key, so a mismatching seed is simply not used.
CACHE=${TRITON_CACHE_DIR:-$HOME/.triton/cache}
SEED=${TRITON_AUTOTUNE_SEED-lab/device/triton_autotune/fla-0.6.0_triton-3.6.0_h200.tgz}
if [ -n "$SEED" ] && [ -f "$SEED" ]; then
  mkdir -p "$CACHE" && tar xzf "$SEED" -C "$CACHE" --skip-old-files && say "Triton autotune cache seeded from $SEED"
fi
if [ -n "${PRE_CHECKS:-}" ]; then
  ( CUDA_VISIBLE_DEVICES=0 timeout 900 "$PY" -m pytest -q -p no:cacheprovider $PRE_CHECKS > "$R/pre_checks.log" 2>&1
    say "pre-checks exit $?: $(tail -n 1 "$R/pre_checks.log")" ) &
fi
lane 0 $LANE0 & lane 1 $LANE1 &
wait
MODELS_ALL="$LANE0 $LANE1 $EXTRA"
"$PY" -m jrt.train.gpu_bench collect-train "$RUNS" "$R/all" $MODELS_ALL > /dev/null 2>&1
"$PY" -m jrt.train.gpu_bench collect-eval "$RUNS" "$R/all" $MODELS_ALL > /dev/null 2>&1
gzip -f "$R/all/recall_samples.jsonl" "$R/all/train_logs.jsonl" 2>/dev/null
( cd "$CACHE" 2>/dev/null && find . -name "*.autotune.json" | tar czf "$R/triton_autotune.tgz" -T - ) 2>/dev/null
say "done"
cat "$R/all/results.md" "$R/all/recall_eval.md" 2>/dev/null
