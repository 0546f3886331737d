#!/usr/bin/env bash
# One device call on a 2-GPU machine: equal-token training and recall evaluation, two models side by side.
#   GPU 1: B_MODELS trained, then evaluated on SWDE/FDA (default + twice)
#   GPU 0: A_MODELS trained, then evaluated on SWDE/FDA and SQuAD/NQ (default + twice); then, once
#          B's models are trained, their SQuAD/NQ evaluation, and for JRT-RNN models the read-2x
#          padding evaluation (prefix filled by repeating the prompt, paper Table 4) at context 1000
#          and, with the default padding for comparison, at context 500
# Data: the carried .gpu_data (lab/device/train_gpu.sh populate). Knobs: TOKENS, MAX_TIME, LIMIT (200),
# QA_LIMIT (100), DEADLINE_S (seconds after which no new evaluation starts, 540).
# Everything is written under $R and packed into $OUT/train_session.tgz (also after each phase).
#   OUT=$OUT A_MODELS=hf-llama:small B_MODELS=jrt-small TOKENS=80000000 bash lab/device/train_session.sh
set -u
cd "$(dirname "$0")/../.."
R=${R:-/tmp/train_session}; mkdir -p "$R/gpu0" "$R/gpu1" "$R/all"
OUT=${OUT:-runs/train_session}; mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export TOKENS=${TOKENS:-80000000} MAX_TIME=${MAX_TIME:-420}
RUNS=${RUNS_DIR:-runs/gpu_train}
LIMIT=${LIMIT:-200}; QA_LIMIT=${QA_LIMIT:-100}; DEADLINE_S=${DEADLINE_S:-540}
A_MODELS=${A_MODELS:-}; B_MODELS=${B_MODELS:-}
T0=$(date +%s)
pack() { tar czf "$OUT/train_session.tgz" -C "$R" . 2>/dev/null; }
in_time() { [ $(( $(date +%s) - T0 )) -lt "$DEADLINE_S" ] || { echo "deadline: skipping $1"; return 1; }; }
ev() {  # ev GPU OUTDIR MODELS TASKS LIMIT FILL SUBDIR [CONTEXT]
  in_time "eval $3 $4 $6" || return 0
  CUDA_VISIBLE_DEVICES=$1 OUT=$2 MODELS="$3" EVAL_TASKS=$4 EVAL_LIMIT=$5 EVAL_PREFIX_FILL=$6 EVAL_SUBDIR=$7 \
    EVAL_CONTEXT=${8:-1000} \
    bash lab/device/train_gpu.sh eval > "$2/eval_${7}_${3//[: ]/_}.log" 2>&1
}
# runs of these models left by an earlier call on the same machine must not pass for this call's
for M in $A_MODELS $B_MODELS; do rm -rf "${RUNS:?}/${M//:/_}"; done
(
  [ -n "$B_MODELS" ] || exit 0
  CUDA_VISIBLE_DEVICES=1 OUT="$R/gpu1" MODELS="$B_MODELS" bash lab/device/train_gpu.sh train > "$R/gpu1/train.out" 2>&1
  ev 1 "$R/gpu1" "$B_MODELS" swde,fda,swde_twice,fda_twice "$LIMIT" pad recall_eval
) &
(
  if [ -n "$A_MODELS" ]; then
    CUDA_VISIBLE_DEVICES=0 OUT="$R/gpu0" MODELS="$A_MODELS" bash lab/device/train_gpu.sh train > "$R/gpu0/train.out" 2>&1
    ev 0 "$R/gpu0" "$A_MODELS" swde,fda,swde_twice,fda_twice "$LIMIT" pad recall_eval
  fi
  for M in $A_MODELS $B_MODELS; do   # B's models: wait until trained (summary.json is written last)
    until [ -f "$RUNS/${M//:/_}/summary.json" ] || [ $(( $(date +%s) - T0 )) -ge "$DEADLINE_S" ]; do sleep 5; done
    case $M in jrt*)  # read-2x padding: at context 1000 (prompt ~ enc_length) and 500 (paper Table 2/4)
      ev 0 "$R/gpu0" "$M" swde,fda "$LIMIT" repeat recall_eval_repeat
      ev 0 "$R/gpu0" "$M" swde,fda "$LIMIT" pad recall_eval_c500 500
      ev 0 "$R/gpu0" "$M" swde,fda "$LIMIT" repeat recall_eval_c500_repeat 500 ;;
    esac
    ev 0 "$R/gpu0" "$M" squad,nq,squad_twice,nq_twice "$QA_LIMIT" pad recall_eval_qa
  done
) &
wait
# every model's training results and all its evaluations in one place
for g in 0 1; do [ -f "$R/gpu$g/results.json" ] && cp "$R/gpu$g/results.json" "$R/all/results_gpu$g.json"; done
python3 -m jrt.train.gpu_bench collect-train "$RUNS" "$R/all" $A_MODELS $B_MODELS > /dev/null 2>&1
python3 -m jrt.train.gpu_bench collect-eval "$RUNS" "$R/all" $A_MODELS $B_MODELS > /dev/null 2>&1
gzip -f "$R/all/recall_samples.jsonl" "$R/all/train_logs.jsonl" 2>/dev/null
echo "elapsed $(( $(date +%s) - T0 )) s"
cat "$R/all/results.md" 2>/dev/null; cat "$R/all/recall_eval.md" 2>/dev/null
pack
