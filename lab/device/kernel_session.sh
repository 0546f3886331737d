#!/usr/bin/env bash
# One device call on a 2-GPU H100 machine: the experimental symmetric Based forward, a hardware
# profile of the production forward, and the fair decode baseline, side by side.
#   GPU 0: test_based_sym.py on the GPU; each symmetric config timed at B=16, T=32k; prefill.py
#          --quick with jrt_based, jrt_based_sym, JRT-Prompt, PLA and FA2 in one run; an ncu profile
#          (Speed of Light, occupancy, warp stalls) of one launch of each Based forward
#   GPU 1: generate.py: jrt-360m graphed decode vs HF Llama with a static cache in a CUDA graph,
#          and the decode-step kernel profile
# Results under $R, packed into $OUT/kernel_session.tgz.
#   OUT=$OUT bash lab/device/kernel_session.sh
set -u
cd "$(dirname "$0")/../.."
export R=${R:-/tmp/kernel_session}; mkdir -p "$R/prefill" "$R/generate" "$R/ncu"
OUT=${OUT:-runs/kernel_session}; mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
# the production forward/backward configs chosen by tune_kernels.py on the H100 (docs/BENCHMARKS.md)
BEST_FWD='[[{"BT": 32, "BD": 32, "TRANS_OUT": true}, 4, 1]]'
(
  export CUDA_VISIBLE_DEVICES=0 JRT_TRITON_FWD_CONFIGS="$BEST_FWD" JRT_TRITON_BWD_CONFIGS='[[{"BT": 16}, 4, 2]]'
  timeout 120 $PY -m pytest -q tests/ops/test_based_sym.py > "$R/test_based_sym.txt" 2>&1
  timeout 150 $PY - > "$R/sym_configs.txt" 2>&1 <<'EOF'
import json, os, torch, triton
from jrt.ops import based_linear_attention
from jrt.ops.triton import based_sym
B, T, H, F, D = 16, 32768, 16, 16, 64
g = lambda *s, sc: (torch.randn(*s, device="cuda") * sc).bfloat16()
q, k, v = g(B, T, H, F, sc=1 / F), g(B, T, H, F, sc=1 / F), g(B, T, H, D, sc=1 / D)
ref = based_linear_attention(q, k, v, backend="triton")[0].float()
ms = triton.testing.do_bench(lambda: based_linear_attention(q, k, v, backend="triton"), warmup=25, rep=100)
rows = [{"kernel": "jrt_based (production)", "config": "BT32 BD32 TRANS_OUT w4 s1", "ms": ms}]
print(rows[-1], flush=True)
configs = based_sym.SYM_CONFIGS + [({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1), ({"BT": 32, "BD": 64, "STATE_T": True}, 8, 1),
                                   ({"BT": 16, "BD": 64, "TRANS_OUT": True}, 8, 1), ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 8, 1)]
seen = set()
for meta, w, st in configs:
    key = json.dumps([meta, w, st], sort_keys=True)
    if key in seen:
        continue
    seen.add(key)
    cfg = dict(meta, num_warps=w, num_stages=st)
    try:
        o = based_sym.based_fwd_sym(q, k, v, return_state=False, config=cfg)[0].float()
        err = ((o - ref).norm() / ref.norm()).item()
        t = triton.testing.do_bench(lambda: based_sym.based_fwd_sym(q, k, v, return_state=False, config=cfg), warmup=25, rep=100)
        rows.append({"kernel": "jrt_based_sym", "config": key, "ms": t, "rel_err_vs_production": err})
    except Exception as exc:  # noqa: BLE001
        rows.append({"kernel": "jrt_based_sym", "config": key, "error": f"{type(exc).__name__}: {exc}"[:300]})
    print(rows[-1], flush=True)
json.dump({"B": B, "T": T, "H": H, "F": F, "D": D, "dtype": "bf16", "device": torch.cuda.get_device_name(),
           "rows": rows}, open(os.environ["R"] + "/sym_configs.json", "w"), indent=1)
EOF
  timeout 170 $PY benchmarks/prefill.py --out "$R/prefill" --quick --sym \
      --methods sdpa_flash jrt_based jrt_based_sym jrt_prompt jrt_pla > "$R/prefill/log.txt" 2>&1
  # hardware counters of one launch of each forward at B=16, T=32k (ncu replays the launch per section)
  cat > /tmp/one_fwd.py <<'EOF'
import sys, torch
from jrt.ops import based_linear_attention
from jrt.ops.triton import based_sym
B, T, H, F, D = 16, 32768, 16, 16, 64
q, k = (torch.randn(B, T, H, F, device="cuda") / F).bfloat16(), (torch.randn(B, T, H, F, device="cuda") / F).bfloat16()
v = (torch.randn(B, T, H, D, device="cuda") / D).bfloat16()
for _ in range(2):
    if sys.argv[1] == "sym":
        based_sym.based_fwd_sym(q, k, v, return_state=False, config=dict(BT=16, BD=64, STATE_T=True, num_warps=4, num_stages=1))
    else:
        based_linear_attention(q, k, v, backend="triton")
torch.cuda.synchronize()
EOF
  for which in prod sym; do
    timeout 90 ncu --clock-control none --launch-skip 1 --launch-count 1 -k regex:based \
        --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
        --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
        $PY /tmp/one_fwd.py $which > "$R/ncu/based_fwd_$which.txt" 2>&1
  done
) &
( export CUDA_VISIBLE_DEVICES=1
  timeout 480 $PY benchmarks/generate.py --out "$R/generate" --methods jrt-graph,llama-static-graph --repeats 2 \
      --profile-step > "$R/generate/log.txt" 2>&1
) &
wait
cat "$R/test_based_sym.txt" | tail -3; cat "$R/sym_configs.txt"; cat "$R/prefill/prefill.md" 2>/dev/null | head -40
grep -E "Duration|Throughput|Registers|Achieved Occupancy|Theoretical Occupancy|Stall|Issued Ipc|Local" "$R"/ncu/*.txt | head -60
tail -30 "$R/generate/generate.md" 2>/dev/null; tail -5 "$R/generate/log.txt"
tar czf "$OUT/kernel_session.tgz" -C "$R" .
