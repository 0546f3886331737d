#!/usr/bin/env bash
# Multi-GPU training through the same torchrun entry point (issue: multi-GPU run of the trainer).
# Same global batch (32 x 2048 tokens for jrt-small, 8 x 2048 for jrt-360m) on 1 GPU (gradient
# accumulation) and on N GPUs with DDP and with FSDP2; the losses must match step for step, and
# tokens/s per GPU gives the scaling efficiency. Logs land under $OUT/multi_gpu/<run>/.
#   OUT=... NGPU=2 STEPS=30 bash lab/device/multi_gpu.sh     (prepared data in .gpu_data/data)
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0
OUT=${OUT:-runs/multi_gpu}/multi_gpu; N=${NGPU:-2}; STEPS=${STEPS:-30}; DATA=${GPU_DATA:-.gpu_data/data}
PY=${PY:-python3}
mkdir -p "$OUT"
run() {  # run NAME NPROC MODEL MICRO ACCUM STEPS [extra...]
  local name=$1 nproc=$2 model=$3 micro=$4 accum=$5 steps=$6; shift 6
  echo "=== $name: $nproc GPU(s), $model, micro $micro x accum $accum x $nproc, $steps steps $*"
  timeout ${RUN_TIMEOUT:-60} "$PY" -m torch.distributed.run --standalone --nproc_per_node "$nproc" -m jrt.train.cli train \
    --data "$DATA" --out "$OUT/$name" --model "$model" --seq-len 2048 --micro-batch-size "$micro" \
    --grad-accum "$accum" --max-steps "$steps" --lr 8e-4 --warmup-steps 5 --log-every 1 --eval-splits "" \
    --no-progress --no-final-model --no-tensorboard --seed 1111 "$@" > "$OUT/$name.log" 2>&1
  echo "    exit $? ($(grep -c '"loss"' "$OUT/$name/"*.jsonl 2>/dev/null | tail -1) log lines)"
}
run small_1gpu 1 jrt-small 16 $((2 * N)) "$STEPS"
run small_ddp$N "$N" jrt-small 16 2 "$STEPS" --dist ddp
run small_fsdp$N "$N" jrt-small 16 2 "$STEPS" --dist fsdp
run 360m_1gpu 1 jrt-360m 4 $((2 * N)) 12
run 360m_fsdp$N "$N" jrt-360m 4 2 12 --dist fsdp
"$PY" - "$OUT" <<'PYEOF'
import json, sys, glob, os
out = sys.argv[1]; rows = []
for d in sorted(glob.glob(os.path.join(out, "*/"))):
    recs = []
    for f in glob.glob(os.path.join(d, "*.jsonl")):
        recs += [json.loads(l) for l in open(f) if '"loss"' in l]
    recs = [r for r in recs if r.get("kind", "train") == "train" and "loss" in r]
    summ = json.load(open(os.path.join(d, "summary.json"))) if os.path.exists(os.path.join(d, "summary.json")) else {}
    rows.append(dict(run=os.path.basename(d.rstrip("/")), world=summ.get("world_size"), dist=summ.get("dist"),
                     tokens_per_s=summ.get("tokens_per_s"), peak_mem_gib=summ.get("peak_mem_gib"),
                     losses=[round(r["loss"], 4) for r in sorted(recs, key=lambda r: r["step"])]))
json.dump(rows, open(os.path.join(out, "multi_gpu.json"), "w"), indent=1)
for r in rows:
    print(r["run"], r["world"], r["dist"], r["tokens_per_s"], r["peak_mem_gib"], r["losses"][:3], r["losses"][-2:])
PYEOF
