"""Decode throughput and time to first token: jrt-360m (random weights) vs a same-size HF Llama.

    python benchmarks/generate.py --out benchmarks/results

Methods (all bf16, greedy, one H100/H200):
  llama-sdpa      HF LlamaForCausalLM (~360M, 24 layers, d 1024), SDPA, dynamic KV cache, model.generate
  jrt-hf          JRTForCausalLM jrt-360m through model.generate (constant-size cache, eager decode)
  jrt-graph       JRTForCausalLM jrt-360m, explicit prefill + CUDA-graph decode (jrt.models.generation)

For each batch B and prompt length T: time to first token (the prefill, ms) and decode tokens/s
(B * N new tokens over the time of N decode steps, prefill excluded), plus the decode-state bytes
per sequence (KV cache of T + N tokens for Llama; constant for JRT). CUDA-event timings, median
of `--repeats` runs after one warm-up; OOM is recorded per cell.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jrt.models import JRTForCausalLM, preset_config  # noqa: E402
from jrt.models.generation import RecurrentDecoder  # noqa: E402


def cuda_time_ms(fn, repeats: int) -> float:
    fn()  # warm-up: compilation, graph capture, allocator
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def build_llama(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=1024, intermediate_size=2816, num_hidden_layers=24,
                      num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=65536,
                      tie_word_embeddings=True, attn_implementation="sdpa")
    return LlamaForCausalLM(cfg)


def hf_generate_times(model, ids, new_tokens: int, repeats: int, **kwargs):
    """(prefill ms, decode ms for new_tokens - 1 steps) from generate with 1 and with new_tokens tokens."""
    common = dict(do_sample=False, eos_token_id=None, pad_token_id=0, **kwargs)
    t1 = cuda_time_ms(lambda: model.generate(ids, max_new_tokens=1, min_new_tokens=1, **common), repeats)
    tn = cuda_time_ms(lambda: model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **common),
                      repeats)
    return t1, max(tn - t1, 1e-6)


def graph_times(model, ids, new_tokens: int, repeats: int):
    decoder = RecurrentDecoder(model, cuda_graph=True)
    prefill_ms = cuda_time_ms(lambda: decoder.prefill(ids), repeats)
    first = decoder.prefill(ids)

    def decode():
        token = first
        for _ in range(new_tokens - 1):
            token = decoder.step(token)

    decode_ms = cuda_time_ms(decode, repeats)  # the first (warm-up) call captures the graph
    return prefill_ms, decode_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--prompts", default="1024,8192,32768")
    parser.add_argument("--new-tokens", type=int, default=65)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="llama-sdpa,jrt-hf,jrt-graph")
    parser.add_argument("--max-batch-tokens", type=int, default=16 * 32768,
                        help="skip cells whose B x prompt exceeds this (recorded as skipped)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("benchmarks/generate.py needs a CUDA device", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    device, dtype = "cuda", torch.bfloat16
    jrt = JRTForCausalLM(preset_config("jrt-360m")).to(device, dtype).eval()
    llama = build_llama(jrt.config.vocab_size).to(device, dtype).eval()
    jrt_params = sum(p.numel() for p in jrt.parameters())
    llama_params = sum(p.numel() for p in llama.parameters())
    jrt_state = jrt.recurrent_state_bytes(batch_size=1, dtype=dtype)["total"]
    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        for prompt in [int(t) for t in args.prompts.split(",")]:
            ids = torch.randint(0, 50000, (batch, prompt), device=device)
            for method in args.methods.split(","):
                row = dict(method=method, batch=batch, prompt=prompt, new_tokens=args.new_tokens)
                if batch * prompt > args.max_batch_tokens:
                    rows.append(dict(row, error=f"skipped: B x T > {args.max_batch_tokens}"))
                    continue
                try:
                    with torch.no_grad():
                        if method == "llama-sdpa":
                            prefill_ms, decode_ms = hf_generate_times(llama, ids, args.new_tokens, args.repeats)
                            kv = 2 * 24 * 1024 * (prompt + args.new_tokens) * 2
                            row["state_bytes_per_seq"] = kv
                        elif method == "jrt-hf":
                            prefill_ms, decode_ms = hf_generate_times(jrt, ids, args.new_tokens, args.repeats)
                            row["state_bytes_per_seq"] = jrt_state
                        else:
                            prefill_ms, decode_ms = graph_times(jrt, ids, args.new_tokens, args.repeats)
                            row["state_bytes_per_seq"] = jrt_state
                    steps = args.new_tokens - 1
                    row.update(prefill_ms=prefill_ms, decode_ms=decode_ms,
                               decode_tokens_per_s=batch * steps / (decode_ms / 1e3),
                               peak_gib=torch.cuda.max_memory_allocated() / 2**30)
                except torch.OutOfMemoryError:
                    row["error"] = "OOM"
                except Exception as exc:  # record and continue: one failing cell must not lose the sweep
                    row["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                rows.append(row)
                print(json.dumps(row), flush=True)
    meta = dict(card=torch.cuda.get_device_name(), date=datetime.date.today().isoformat(),
                torch=torch.__version__, command=" ".join(sys.argv), jrt_params=jrt_params,
                llama_params=llama_params, dtype="bfloat16")
    (out_dir / "generate.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [f"# Generation: jrt-360m vs Llama ({llama_params / 1e6:.0f}M), {meta['card']}, {meta['date']}", "",
             "| method | B | prompt | prefill ms | decode tok/s | state bytes/seq |", "|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['method']} | {r['batch']} | {r['prompt']} | {r['error']} | | |")
        else:
            lines.append(f"| {r['method']} | {r['batch']} | {r['prompt']} | {r['prefill_ms']:.1f} | "
                         f"{r['decode_tokens_per_s']:.0f} | {r['state_bytes_per_seq'] / 2**20:.1f} MiB |")
    (out_dir / "generate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
