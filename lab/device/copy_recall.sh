#!/usr/bin/env bash
# Lab packer for scripts/copy_recall.py (docs/RESULTS.md section 3) on one borrowed GPU.
#
# Here, once: copy the raw data the run needs into .gpu_data/raw (git-ignored, 50 MiB: six IMDB
# shards, WikiText-2 test, SWDE, FDA documents + annotations + held-out ids, the GPT-2 tokenizer as
# vocab.json + merges.txt + tokenizer_config.json, without the 3.5 MiB tokenizer.json, so that it and
# the tracked files stay under the device's 64 MiB) and both wheels of flash-linear-attention 0.6.0
# into .whl/ (GLA, and Mamba2's scan kernel): `pip download --no-deps -d .whl
# flash-linear-attention==0.6.0 fla-core==0.6.0`. The first holds fla.models and fla.layers, the
# second fla.ops; with the first alone `import fla.models` fails (No module named 'fla.ops').
# Each model of the 300M series (docs/RESULTS.md 3.1) is one stretch:
#   MODELS=based-small TOKENS=300e6 KERNEL_STEPS=pytest bash lab/device/copy_recall.sh kernels
# The fourth model is hf-gla:small, not hf-mamba2:small: Mamba2 trains at ~103k tokens/s on one
# H200 (results/baselines_fla_80m_recall), so 300M tokens take ~2,900 s, more than one stretch;
# GLA needs ~800-1,300 s: 235k tokens/s whole-run and 266k at the end of its 80M run (2026-11-26),
# 371-396k late in a 300-step preflight on 2026-12-02
# (results/copy_recall_300m/gla_preflight_2026-12-02/); MAX_TIME=1350.
# then `wait` calls; data preparation ~250 s, training 300M tokens ~1000 s, evaluation ~150 s.
#
# Device calls (carry [".gpu_data", ".whl"]), back to back on one warm machine:
#   bash lab/device/copy_recall.sh start        # install both wheels (and check `import fla.models` for an
#                                               # fla model), start the job detached (bg.sh)
#   bash lab/device/copy_recall.sh kernels      # the same, then lab/device/kernels_v2.sh into $OUT while
#                                               # the job prepares its data on the CPU; training waits
#                                               # for the kernel timings to end (a gate file, at most
#                                               # GATE_WAIT s) so neither measurement disturbs the other;
#                                               # KERNEL_STEPS="pytest prefill" runs only those steps
#   bash lab/device/copy_recall.sh wait         # up to 560 s; packs $R into $OUT/copy.tgz; with
#                                               # AFTER_STEPS="generate ..." and the job ended, also
#                                               # runs those kernels_v2.sh steps into $OUT
# PROBE=results/copy_recall_300m/probe.json.gz adopts the series' committed probe instead of building
# it (prepare --probe), so training starts ~110 s sooner, and exports the training text (needed by the
# evaluation's copy-required tags) on the CPU while the model trains: for hf-gla:small, whose
# 800-1,300 s of training leave little of a 1,800 s session for the rest.
# PREPARE_ARGS="--drop-leaky" builds the data without self-contradicting recall examples: a new
# series (data hash c846743b... instead of e3f80229...), not comparable with the first one.
# Back here: python lab/device/merge_copy_recall.py /work/.device/N/copy.tgz results/copy_recall_300m
# (checks the data hash and probe, copies runs/ and eval/, strips the job log), then on the CPU
# python scripts/copy_recall_distance.py --data-root .gpu_data/raw --out results/copy_recall_300m/answer_distance.json
# and python scripts/copy_recall_report.py --results results/copy_recall_300m --targets (and the other tables).
# The job: prepare (tokens, counterfactual recall split, probe) -> train the models side by side
# -> evaluate; small results are copied into $R after each stage so every `wait` brings them back.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
TOKENS=${TOKENS:-300e6}
MAX_TIME=${MAX_TIME:-1150}
MODELS=${MODELS:-hf-llama:small,based-small,jrt-small}
GATE=/tmp/copy_recall.kernels_done
MODE=${1:-start}

install_fla() {  # the wheels in .whl; an fla model that cannot import stops here, not minutes into the job
  $PY -m pip install --no-deps -q .whl/*.whl 2>&1 | tail -1 || true
  case $MODELS in *hf-gla*|*hf-mamba2*)
    $PY -c "import fla.models" || { echo "fla.models does not import: are both wheels in .whl?" >&2; exit 1; } ;;
  esac
}

collect() {  # small results into $R (bg.sh packs it at every wait)
  W=runs/copy
  mkdir -p "$R/runs" "$R/eval"
  cp "$W/data/manifest.json" "$R/data_manifest.json" 2>/dev/null || true
  for d in "$W"/runs/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d"); mkdir -p "$R/runs/$n"
    cp "$d"/log.jsonl "$d"/summary.json "$d"/run_config.json "$R/runs/$n/" 2>/dev/null || true
    tail -c 4000 "$W/runs/$n.log" > "$R/runs/$n/train_tail.log" 2>/dev/null || true
  done
  if [ -d "$W/eval" ]; then
    (cd "$W/eval" && find . -name "results.json" -o -name "*.jsonl.gz" -o -name "table.md" | tar cf - -T -) \
      | tar xf - -C "$R/eval"
  fi
}

case $MODE in
start)
  install_fla
  nvidia-smi --query-gpu=name,memory.total --format=csv
  touch "$GATE"
  bash lab/device/bg.sh start copy bash lab/device/copy_recall.sh job
  sleep ${START_WAIT:-240}
  tail -n 30 /tmp/bg/copy/job.log
  ;;
kernels)
  install_fla
  nvidia-smi --query-gpu=name,memory.total --format=csv
  rm -f "$GATE"
  bash lab/device/bg.sh start copy bash lab/device/copy_recall.sh job
  PYTHON=$PY bash lab/device/kernels_v2.sh ${KERNEL_STEPS:-} || echo "kernels_v2 exit $?"
  touch "$GATE"
  tail -n 20 /tmp/bg/copy/job.log
  ;;
job)
  W=runs/copy; ROOT=.gpu_data/raw
  # fla models (hf-gla, hf-mamba2) autotune every kernel on first use: seed Triton's cache with the
  # results of an earlier session (baseline_lanes.sh explains; a seed for another version is unused)
  SEED=lab/device/triton_autotune/fla-0.6.0_triton-3.6.0_h200.tgz
  CACHE=${TRITON_CACHE_DIR:-$HOME/.triton/cache}
  [ -f "$SEED" ] && mkdir -p "$CACHE" && tar xzf "$SEED" -C "$CACHE" --skip-old-files
  { nvidia-smi; $PY -c "import torch, triton, transformers; print(torch.__version__, triton.__version__, transformers.__version__)"; date -u; } > "$R/env.txt" 2>&1
  t0=$(date +%s)
  [ -f "$W/probe.json" ] || $PY scripts/copy_recall.py prepare --data-root "$ROOT" --work "$W" ${PREPARE_ARGS:-} \
    ${PROBE:+--probe "$PROBE"}
  EXPORT=
  if [ -n "${PROBE:-}" ] && [ ! -f "$W/data/training_text.txt.gz" ]; then   # CPU work beside the training
    nice -n 10 $PY -m jrt.train.probe export --data "$W/data" --workers 4 > "$R/export.log" 2>&1 & EXPORT=$!
  fi
  echo "prepare: $(( $(date +%s) - t0 )) s"; gzip -c "$W/probe.json" > "$R/probe.json.gz"; collect
  while [ ! -f "$GATE" ] && [ $(( $(date +%s) - t0 )) -lt "${GATE_WAIT:-560}" ]; do sleep 5; done
  echo "training starts: $(( $(date +%s) - t0 )) s"
  ( while sleep 60; do collect; done ) & COLLECTOR=$!
  $PY scripts/copy_recall.py train --work "$W" --models "$MODELS" --tokens "$TOKENS" --max-time "$MAX_TIME" || echo "train failed"
  echo "train done: $(( $(date +%s) - t0 )) s"; collect
  [ -n "$EXPORT" ] && { wait "$EXPORT" || echo "training-text export failed (eval exports it again)"; }
  $PY scripts/copy_recall.py eval --work "$W" --models "$MODELS" --data-root "$ROOT" --limit "${EVAL_LIMIT:-300}" || echo "eval failed"
  echo "eval done: $(( $(date +%s) - t0 )) s"
  kill $COLLECTOR 2>/dev/null || true
  collect
  ;;
wait)
  bash lab/device/bg.sh wait copy "${WAIT:-560}"
  tail -n 40 /tmp/bg/copy/job.log
  for f in runs/copy/runs/*.log; do echo "== $f"; tail -n 2 "$f" | cut -c1-300; done 2>/dev/null || true
  # AFTER_STEPS="generate": once the job has ended, kernel timings on the now idle GPU, same call
  if [ -n "${AFTER_STEPS:-}" ] && [ -f /tmp/bg/copy/rc ]; then
    PYTHON=$PY bash lab/device/kernels_v2.sh $AFTER_STEPS || echo "kernels_v2 exit $?"
  fi
  ;;
*) echo "usage: copy_recall.sh start|kernels|wait" >&2; exit 2 ;;
esac
