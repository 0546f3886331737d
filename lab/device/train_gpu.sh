#!/usr/bin/env bash
# Lab wrapper (how this project ran it on a borrowed GPU) around scripts/train_comparison.py, which
# holds the logic and runs on any CUDA machine. Equal-token training comparison on one GPU: jrt-small, based-small, and an HF Llama and HF Mamba2
# sized to match jrt-small, all on the same prepared tokens in the same order.
#
# 1) Here, once (CPU, about 10 minutes): build the carried data folder (git-ignored, < 50 MB):
#        lab/device/train_gpu.sh populate
#    -> .gpu_data/data/{train,val,heldout,wikitext2}.{bin,offsets.npy,ids.txt} + manifest.json
#       (IMDB + SWDE/FDA training docs + FDA summaries as plain text, plus 50% recall-format
#        examples; held-out evaluation ids excluded; GPT-2 tokenizer)
#    -> .gpu_data/eval_root/: the held-out SWDE/FDA docs, annotations, eval ids and the GPT-2
#       tokenizer (what `jrt eval` needs on the GPU machine)
#    Source: $JRT_DATA_DIR (your copy of the data).
#
# 2) On the GPU machine (device tool, carry [".gpu_data"]), about 8-9 minutes in all:
#        OUT=$OUT bash lab/device/train_gpu.sh            # train the four models, perplexities
#        OUT=$OUT bash lab/device/train_gpu.sh eval       # later call, same warm machine: recall eval
#    (or EVAL_LIMIT=N with the first call to evaluate right after training)
#    Knobs (env): TOKENS (per model, 20000000), MAX_TIME (training seconds per model, 95),
#    MICRO_BS (16; on OOM use MICRO_BS=8 GRAD_ACCUM=2: same global batch), GRAD_ACCUM (1), SEQ_LEN (2048), LR (8e-4), MODELS (space-separated), COMPILE (0/1), EVAL_TOKENS (262144 per split),
#    NPROC (1; N trains each model with DDP on N GPUs: use MICRO_BS=16/N for the same global batch),
#    EVAL_LIMIT (documents per recall task; 0 = all in eval mode, off in train mode),
#    EVAL_TASKS (swde,fda,swde_twice,fda_twice), EVAL_PREFIX_FILL (pad; repeat = JRT-RNN read-2x
#    padding), EVAL_SUBDIR (recall_eval; each eval writes runs/gpu_train/NAME/EVAL_SUBDIR),
#    EVAL_CONTEXT (1000 tokens of context; the paper's short columns use 500).
#    Trained runs (checkpoint-free, final_model/ in safetensors) stay in runs/gpu_train (git-ignored;
#    kept on the device machine while it is warm). Under $OUT (at most 8 small files):
#      results.json, results.md   per model: params, tokens, tokens/s, perplexities, state bytes
#      train_logs.jsonl           all training/eval log records, with a "run" field
#      run.log, env.txt           the script's output; nvidia-smi and library versions
#      recall_eval.json/.md, recall_samples.jsonl   (eval) SWDE/FDA contains-accuracy and outputs
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
DATA=${GPU_DATA:-.gpu_data/data}
MODE=${1:-train}

if [ "$MODE" = populate ]; then
  ROOT=${JRT_DATA_DIR:?set JRT_DATA_DIR to your copy of the data}
  "$PY" scripts/train_comparison.py populate --data-root "$ROOT" --out-data .gpu_data
  du -sh .gpu_data/*
  exit 0
fi

OUT=${OUT:-runs/gpu}
RUNS=${RUNS_DIR:-runs/gpu_train}
MODELS=${MODELS:-"jrt-small based-small hf-llama:small hf-mamba2:small"}
EVAL_LIMIT=${EVAL_LIMIT:-0}
mkdir -p "$OUT" "$RUNS"
exec > >(tee -a "$OUT/run.log") 2>&1

if [ ! -f "$DATA/manifest.json" ]; then
  echo "no prepared data at $DATA: run 'lab/device/train_gpu.sh populate' locally and carry .gpu_data" >&2
  exit 2
fi
{ nvidia-smi || true
  "$PY" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda); print('transformers', transformers.__version__)"
  "$PY" -c "import triton; print('triton', triton.__version__)" || true
  "$PY" -c "import mamba_ssm; print('mamba_ssm', mamba_ssm.__version__)" 2>/dev/null \
    || echo "mamba_ssm: not installed (HF Mamba2 runs transformers' torch scan, or fla's with JRT_MAMBA2_SCAN=fla)"
  "$PY" -c "import fla; print('fla', fla.__version__)" 2>/dev/null || echo "fla: not installed"; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

if [ "$MODE" = train ]; then
  # shellcheck disable=SC2086
  "$PY" scripts/train_comparison.py train --models $MODELS --runs "$RUNS" --out "$OUT" --data "$DATA" \
      --tokens "${TOKENS:-20000000}" --max-time "${MAX_TIME:-95}" --micro-batch-size "${MICRO_BS:-16}" \
      --grad-accum "${GRAD_ACCUM:-1}" --seq-len "${SEQ_LEN:-2048}" --lr "${LR:-8e-4}" \
      --eval-tokens "${EVAL_TOKENS:-262144}" --nproc "${NPROC:-1}" $( [ "${COMPILE:-0}" = 1 ] && echo --compile )
fi

if [ "$MODE" = eval ] || [ "$EVAL_LIMIT" -gt 0 ]; then
  # shellcheck disable=SC2086
  "$PY" scripts/train_comparison.py eval --models $MODELS --runs "$RUNS" --out "$OUT" \
      --eval-root .gpu_data/eval_root --tasks "${EVAL_TASKS:-swde,fda,swde_twice,fda_twice}" --limit "$EVAL_LIMIT" \
      --prefix-fill "${EVAL_PREFIX_FILL:-pad}" --subdir "${EVAL_SUBDIR:-recall_eval}" \
      --context-length "${EVAL_CONTEXT:-1000}"
fi
