"""Decode throughput and time to first token: jrt-360m (random weights) vs a same-size HF Llama.

    python benchmarks/generate.py --out results/benchmarks
    python benchmarks/generate.py --out /tmp/g --methods jrt-graph,llama-static-graph --profile-step
    python benchmarks/generate.py --quick --out /tmp/gq          # tiny models; runs on CPU too

Methods (`--methods`, comma-separated; bf16, greedy, one H100/H200):
  llama-sdpa          HF LlamaForCausalLM (~360M, 24 layers, d 1024), SDPA, dynamic KV cache, model.generate
                      (alias llama-hf). Python-bound at this size (~30 ms a step): not a fair speed baseline.
  llama-static-graph  the same Llama, transformers StaticCache (T + N slots), prefill once (eager), then the
                      one-token decode step captured as a CUDA graph and replayed (benchmarks/_llama_static.py;
                      alias llama-static). If capture fails it decodes eagerly and the row says so
                      (decode_mode, graph_error).
  llama-static-eager  the same static-cache decode without the graph (HF forward per step).
  jrt-hf              JRTForCausalLM jrt-360m through model.generate (constant-size cache, eager decode)
  jrt-graph           JRTForCausalLM jrt-360m, explicit prefill + CUDA-graph decode (jrt.models.generation;
                      alias jrt)
  jrt-compile-graph   the same with the decode step compiled by torch.compile before it is graphed
                      (RecurrentDecoder(compile=True); the compile happens in the warm-up run). Library
                      default: in bf16 on CUDA the step's linear layers run jrt.ops.skinny_linear (a
                      weight-streaming Triton kernel for <= 16 rows) instead of cuBLAS GEMMs
  jrt-compile-cublas-graph  jrt-compile-graph with the linear layers left on cuBLAS
                      (RecurrentDecoder(compile=True, skinny_linear=False)): the GEMM comparator, and
                      what jrt-compile-graph measured before 2026-12-02's second H200 run
  none                no sweep (e.g. with --profile-step alone)

For each batch B and prompt length T: time to first token (the prefill, ms) and decode tokens/s
(B * (N - 1) tokens over the time of N - 1 decode steps, prefill excluded), plus the decode-state
bytes per sequence (KV cache of T + N tokens for Llama, as allocated by the static cache; constant
for JRT), the step time and a memory-bandwidth floor for the step ((parameter bytes + state bytes
read) / --hbm-bw). CUDA-event timings, median of `--repeats` runs after one warm-up; OOM and any
error are recorded per cell. Graphed and compiled jrt cells also carry compare_with_eager's check
over the first --check-tokens steps (vs_eager_*: free-running token match, teacher-forced argmax
match, largest logit difference, widest flip margin; eager_/fast_vs_reference_max_logit_diff: each
step's distance from the same model one dtype wider; peak_gib is taken before the check).
Static-cache cells whose KV cache (plus weights) exceeds `--static-cache-gib` are skipped and
marked so.

--profile-step: the eager (non-graph) jrt decode step under torch.profiler (CUDA activities) for
`--profile-steps` steps at batches `--profile-batches` (prompt `--profile-prompt`): the top kernels
by total CUDA time (name, calls, total us, % of all kernel time), kernel time per step, the eager and
graphed step times, and the weight-bytes floor. The graphed step is also profiled (best effort) to
show how much of it is kernel time. Written to generate.json ("profile") and generate_profile.md.

--quick: tiny models (jrt-tiny preset, a 2-layer d-64 Llama), small shapes, few steps; runs on CPU
(float32, wall-clock timing; CUDA graphs fall back to eager and say so) for a smoke test.
JSON and markdown are rewritten after every cell, so a run stopped by a time limit keeps its rows.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import sys
import time
from pathlib import Path

import torch
from _llama_static import StaticCacheDecoder, kv_bytes_per_token

from jrt.models import JRTForCausalLM, preset_config
from jrt.models.generation import RecurrentDecoder, compare_with_eager

METHODS = ("llama-sdpa", "llama-static-graph", "llama-static-eager", "jrt-hf", "jrt-graph", "jrt-compile-graph",
           "jrt-compile-cublas-graph")
ALIASES = {"llama-hf": "llama-sdpa", "llama-static": "llama-static-graph", "jrt": "jrt-graph"}
QUICK = dict(batches="1,2", prompts="48,96", new_tokens=6, repeats=1, profile_batches="1,2", profile_prompt=48,
             profile_steps=5)
FULL = dict(batches="1,16,64", prompts="1024,8192,32768", new_tokens=65, repeats=3, profile_batches="1,64",
            profile_prompt=1024, profile_steps=20)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def cuda_time_ms(fn, repeats: int, setup=None) -> float:
    """Median ms of fn() over `repeats` runs after one warm-up; `setup()` runs before each, untimed.
    CUDA events on a GPU, perf_counter on CPU (the --quick smoke test)."""
    if setup:
        setup()
    fn()  # warm-up: compilation, graph capture, allocator
    _sync()
    times = []
    for _ in range(repeats):
        if setup:
            setup()
            _sync()
        if torch.cuda.is_available():
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def build_llama(vocab_size: int, tiny: bool = False):
    from transformers import LlamaConfig, LlamaForCausalLM
    if tiny:
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                          tie_word_embeddings=True, attn_implementation="sdpa")
    else:
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=1024, intermediate_size=2816, num_hidden_layers=24,
                          num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=65536,
                          tie_word_embeddings=True, attn_implementation="sdpa")
    return LlamaForCausalLM(cfg)


def param_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())   # tied weights counted once


def hf_generate_times(model, ids, new_tokens: int, repeats: int, **kwargs):
    """(prefill ms, decode ms for new_tokens - 1 steps) from generate with 1 and with new_tokens tokens."""
    common = dict(do_sample=False, eos_token_id=None, pad_token_id=0, **kwargs)
    t1 = cuda_time_ms(lambda: model.generate(ids, max_new_tokens=1, min_new_tokens=1, **common), repeats)
    tn = cuda_time_ms(lambda: model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **common),
                      repeats)
    return t1, max(tn - t1, 1e-6)


def graph_times(model, ids, new_tokens: int, repeats: int, compile: bool = False, check_tokens: int = 8,
                skinny_linear: bool | None = None, reference=None):
    """JRT through RecurrentDecoder: (prefill ms, decode ms for new_tokens - 1 steps, info). info holds
    the decode mode, the peak memory of the timed runs (CUDA), and, when the step is graphed or
    compiled, compare_with_eager over the first check_tokens steps against a plain eager decoder from
    the same prompt, with `reference` (the model in a wider dtype, kept on the CPU between checks) as
    its exact side. A failing check is recorded as check_error; the timings stay."""
    decoder = RecurrentDecoder(model, cuda_graph=torch.cuda.is_available(), compile=compile,
                               skinny_linear=skinny_linear)
    prefill_ms = cuda_time_ms(lambda: decoder.prefill(ids), repeats)
    first = decoder.prefill(ids)

    def decode():
        token = first
        for _ in range(new_tokens - 1):
            token = decoder.step(token)

    decode_ms = cuda_time_ms(decode, repeats)  # the first (warm-up) call captures the graph
    mode = "cuda-graph" if decoder.cuda_graph else "eager (no CUDA)"
    info = dict(decode_mode=("compiled " if compile else "") + ("skinny-linear " if decoder.skinny_linear else "")
                + mode)
    if ids.is_cuda:
        info["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30        # before the check's extra model
    steps = min(check_tokens, new_tokens - 1)
    if steps > 0 and (decoder.cuda_graph or compile):
        try:
            info.update(compare_with_eager(decoder, model, ids, steps,
                                           reference=reference.to(ids.device) if reference is not None else None))
        except Exception as exc:  # noqa: BLE001  (an OOM of the check must not lose the timing)
            info["check_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        finally:
            if reference is not None:
                reference.to("cpu")
    return prefill_ms, decode_ms, info


def static_times(model, ids, new_tokens: int, repeats: int, cuda_graph: bool, check_tokens: int = 8,
                 check_prefill_max_tokens: int = 65536):
    """Llama with a StaticCache: (prefill ms, decode ms for new_tokens - 1 steps, info).

    Every timed decode starts from the same prompt (the cache is rewound to T, untimed). info holds
    the decode mode that actually ran, any graph error, and two checks: graph vs eager greedy tokens
    on the same cache, and (for B x T <= check_prefill_max_tokens) the static-cache prefill's last
    logits against a no-cache forward."""
    prompt = ids.shape[1]
    decoder = StaticCacheDecoder(model, max_cache_len=prompt + new_tokens, cuda_graph=cuda_graph)
    prefill_ms = cuda_time_ms(lambda: decoder.prefill(ids), repeats)
    first = decoder.prefill(ids).clone()
    info = {}
    if check_prefill_max_tokens and ids.numel() <= check_prefill_max_tokens:
        ref = model(ids, use_cache=False, logits_to_keep=1).logits[:, -1].float()
        got = decoder.last_logits.float()
        info["prefill_check"] = dict(argmax_match=float((ref.argmax(-1) == got.argmax(-1)).float().mean()),
                                     max_abs_logit_diff=float((ref - got).abs().max()),
                                     logit_abs_max=float(ref.abs().max()))

    def decode():
        token = first
        for _ in range(new_tokens - 1):
            token = decoder.step(token)

    decode_ms = cuda_time_ms(decode, repeats, setup=lambda: decoder.rewind(prompt))
    info["decode_mode"] = decoder.mode
    if decoder.graph_error:
        info["graph_error"] = decoder.graph_error
    steps = min(check_tokens, new_tokens - 1)
    if decoder.mode == "cuda-graph" and steps > 0:
        runs = []
        for step in (decoder.step, decoder.eager_step):
            decoder.rewind(prompt)
            token, out = first, []
            for _ in range(steps):
                token = step(token)
                out.append(token.clone())
            runs.append(torch.stack(out, 1))
        info["graph_vs_eager_token_match"] = float((runs[0] == runs[1]).float().mean())
    return prefill_ms, decode_ms, info


# ----------------------------------------------------------------------------------------------
# decode-step profile (jrt, eager step under torch.profiler)

def _kernel_table(prof, use_cuda: bool, steps: int):
    """[(name, calls, total_us)] sorted by total time: CUDA kernels/memcpys on a GPU, CPU ops (self time) on CPU."""
    agg: dict[str, list] = {}
    if use_cuda:
        from torch.autograd import DeviceType
        for evt in prof.events():
            if evt.device_type != DeviceType.CUDA:
                continue
            entry = agg.setdefault(evt.name, [0, 0.0])
            entry[0] += 1
            entry[1] += evt.time_range.elapsed_us()
    else:
        for evt in prof.key_averages():
            if evt.self_cpu_time_total > 0:
                agg[evt.key] = [evt.count, float(evt.self_cpu_time_total)]
    if use_cuda and not agg:  # no device events traced (CUPTI unavailable?): device time attributed to ops
        for evt in prof.key_averages():
            if evt.self_device_time_total > 0:
                agg[f"[op] {evt.key}"] = [evt.count, float(evt.self_device_time_total)]
    rows = sorted(((n, c, t) for n, (c, t) in agg.items()), key=lambda r: -r[2])
    total = sum(r[2] for r in rows)
    return rows, total


def _profile_steps(decoder, token, steps: int, use_cuda: bool, top: int) -> dict:
    """Times `steps` steps of an ungraphed decoder (wall clock), then profiles as many more."""
    from torch.profiler import ProfilerActivity, profile

    _sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        token = decoder.step(token)
    _sync()
    step_ms = (time.perf_counter() - t0) * 1e3 / steps
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if use_cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            token = decoder.step(token)
        _sync()
    rows, total = _kernel_table(prof, use_cuda, steps)
    return dict(step_ms=step_ms, kernels_per_step=sum(r[1] for r in rows) / steps, kernel_us_per_step=total / steps,
                distinct_kernels=len(rows),
                top_kernels=[dict(name=n, calls=c, calls_per_step=c / steps, total_us=round(t, 1),
                                  us_per_step=round(t / steps, 2), pct=round(100 * t / total, 2) if total else 0.0)
                             for n, c, t in rows[:top]])


def profile_jrt_step(model, batch: int, prompt: int, steps: int, top: int, hbm_bw: float, dtype, device,
                     vocab: int, compiled: bool = False) -> dict:
    from torch.profiler import ProfilerActivity, profile
    use_cuda = device == "cuda"
    torch.manual_seed(0)
    ids = torch.randint(0, vocab, (batch, prompt), device=device)
    res = dict(batch=batch, prompt=prompt, steps=steps)
    p_bytes = param_bytes(model)
    state = model.recurrent_state_bytes(batch_size=batch, dtype=dtype)["total"]
    res.update(param_bytes=p_bytes, state_bytes=state, hbm_bytes_per_s=hbm_bw,
               weight_floor_ms=p_bytes / hbm_bw * 1e3,
               weight_state_floor_ms=(p_bytes + 2 * state) / hbm_bw * 1e3)   # state read + written once
    with torch.no_grad():
        decoder = RecurrentDecoder(model, cuda_graph=False)
        token = decoder.prefill(ids)
        for _ in range(3):  # warm-up: Triton compilation / autotuning for this shape
            token = decoder.step(token)
        eager = _profile_steps(decoder, token, steps, use_cuda, top)
        res["eager_step_ms"] = eager.pop("step_ms")
        res["unit"] = "CUDA kernel time (eager step)" if use_cuda else "CPU op self time (no CUDA)"
        res.update(eager)   # kernels_per_step, kernel_us_per_step, distinct_kernels, top_kernels
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if use_cuda else [])
        if use_cuda:
            # graphed step: timed like jrt-graph (CUDA events over `steps` replays), then profiled (best effort)
            try:
                gdec = RecurrentDecoder(model, cuda_graph=True)
                first = gdec.prefill(ids)

                def decode():
                    tok = first
                    for _ in range(steps):
                        tok = gdec.step(tok)

                res["graph_step_ms"] = cuda_time_ms(decode, 3) / steps
                res["graph_step_vs_weight_floor"] = res["graph_step_ms"] / res["weight_floor_ms"]
                with profile(activities=activities) as gprof:
                    decode()
                    torch.cuda.synchronize()
                grows, gtotal = _kernel_table(gprof, True, steps)
                res["graph_profile"] = dict(kernels_per_step=sum(r[1] for r in grows) / steps,
                                            kernel_us_per_step=gtotal / steps,
                                            busy_fraction=(gtotal / steps / 1e3) / res["graph_step_ms"],
                                            note="kernels inside graph replays as traced by CUPTI; "
                                                 "busy_fraction = kernel time / graphed step time"
                                                 + ("" if grows else "; NO kernels were traced inside the graph"))
            except Exception as exc:
                res["graph_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        if compiled:
            # the torch.compile'd step launched without a graph: how far Inductor's fusion cuts the launches
            cdec = RecurrentDecoder(model, cuda_graph=False, compile=True)
            tok = cdec.prefill(ids)
            for _ in range(3):  # the first step compiles
                tok = cdec.step(tok)
            res["compiled"] = dict(_profile_steps(cdec, tok, steps, use_cuda, top), skinny_linear=cdec.skinny_linear)
    return res


def profile_markdown(profiles: list[dict], title: str) -> list[str]:
    lines = [f"# Decode-step profile: {title}", ""]
    for p in profiles:
        lines.append(f"## B = {p['batch']}, prompt {p['prompt']}, {p['steps']} eager steps")
        if "error" in p:
            lines += ["", f"error: {p['error']}", ""]
            continue
        lines.append("")
        graph = f"{p['graph_step_ms']:.3f} ms" if "graph_step_ms" in p else p.get("graph_error", "n/a")
        lines.append(f"- graphed step: {graph}; eager step: {p['eager_step_ms']:.3f} ms (wall)")
        lines.append(f"- weight floor: {p['weight_floor_ms']:.3f} ms ({p['param_bytes'] / 1e9:.3f} GB at "
                     f"{p['hbm_bytes_per_s'] / 1e12:.1f} TB/s); with state read+write "
                     f"({p['state_bytes'] / 2**20:.1f} MiB): {p['weight_state_floor_ms']:.3f} ms")
        if "graph_step_vs_weight_floor" in p:
            lines.append(f"- graphed step / weight floor: {p['graph_step_vs_weight_floor']:.1f}x")
        lines.append(f"- {p['unit']}: {p['kernel_us_per_step']:.1f} us per step over "
                     f"{p['kernels_per_step']:.0f} launches per step ({p['distinct_kernels']} distinct)")
        if "graph_profile" in p:
            g = p["graph_profile"]
            lines.append(f"- inside the graph: {g['kernel_us_per_step']:.1f} us kernel time per step, "
                         f"{g['kernels_per_step']:.0f} kernels, busy {100 * g['busy_fraction']:.0f}% of the step")
        if "compiled" in p:
            c = p["compiled"]
            linears = "skinny_linear" if c.get("skinny_linear") else "F.linear"
            lines.append(f"- compiled step (torch.compile, no graph; linear layers on {linears}): "
                         f"{c['step_ms']:.3f} ms (wall), "
                         f"{c['kernel_us_per_step']:.1f} us per step over {c['kernels_per_step']:.0f} launches "
                         f"({c['distinct_kernels']} distinct); its top kernels are in the JSON")
        lines += ["", "| kernel | calls/step | total us | us/step | % |", "|---|---|---|---|---|"]
        for k in p["top_kernels"]:
            name = k["name"].replace("|", "\\|")
            name = name if len(name) <= 100 else name[:97] + "..."
            lines.append(f"| `{name}` | {k['calls_per_step']:.1f} | {k['total_us']:.0f} | {k['us_per_step']:.1f} | "
                         f"{k['pct']:.1f} |")
        lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------

def parse_methods(text: str) -> list[str]:
    methods = []
    for m in (s.strip() for s in text.split(",")):
        if not m or m == "none":
            continue
        m = ALIASES.get(m, m)
        if m not in METHODS:
            raise SystemExit(f"unknown method {m!r}; choose from {', '.join(METHODS)} "
                             f"(aliases {', '.join(ALIASES)}) or none")
        methods.append(m)
    return methods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/benchmarks")
    parser.add_argument("--batches", default=None, help=f"default {FULL['batches']} ({QUICK['batches']} with --quick)")
    parser.add_argument("--prompts", default=None, help=f"default {FULL['prompts']} ({QUICK['prompts']} with --quick)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 65 (6 with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--methods", default="llama-sdpa,jrt-hf,jrt-graph",
                        help=f"comma-separated from {', '.join(METHODS)}; aliases {ALIASES}; 'none' for no sweep")
    parser.add_argument("--max-batch-tokens", type=int, default=16 * 32768,
                        help="skip cells whose B x prompt exceeds this (recorded as skipped)")
    parser.add_argument("--static-cache-gib", type=float, default=70.0,
                        help="skip static-cache Llama cells whose KV cache + weights exceed this (recorded as skipped)")
    parser.add_argument("--check-tokens", type=int, default=8,
                        help="compare this many greedy tokens of a graphed / compiled decode with the eager "
                             "one (llama-static-graph, jrt-compile-graph, jrt-compile-cublas-graph; jrt-graph on "
                             "CUDA; 0: off)")
    parser.add_argument("--no-check-reference", dest="check_reference", action="store_false",
                        help="skip the wider-dtype reference of the jrt check (by default a float32 copy of the "
                             "bf16 model, float64 of a float32 one, also decodes the checked steps, so the rows "
                             "say how far the eager and the fast step each are from it)")
    parser.add_argument("--profile-step", action="store_true", help="profile the eager jrt decode step (see above)")
    parser.add_argument("--profile-compiled", action="store_true",
                        help="with --profile-step: also profile the torch.compile'd step (launched without a graph)")
    parser.add_argument("--profile-batches", default=None, help="default 1,64 (1,2 with --quick)")
    parser.add_argument("--profile-prompt", type=int, default=None, help="default 1024 (48 with --quick)")
    parser.add_argument("--profile-steps", type=int, default=None, help="default 20 (5 with --quick)")
    parser.add_argument("--profile-top", type=int, default=15, help="kernels listed per batch")
    parser.add_argument("--hbm-bw", type=float, default=3.0e12, help="bytes/s for the memory floor (H100 SXM ~3.35e12, H200 ~4.8e12; "
                        "the default keeps the floors of earlier runs comparable)")
    parser.add_argument("--quick", action="store_true", help="tiny models and shapes; runs on CPU (smoke test)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.profile_compiled and not args.profile_step:
        parser.error("--profile-compiled needs --profile-step")
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    methods = parse_methods(args.methods)
    cuda = torch.cuda.is_available()
    if not cuda and not args.quick:
        print("benchmarks/generate.py needs a CUDA device (or --quick for a CPU smoke test)", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    preset = "jrt-tiny" if args.quick else "jrt-360m"
    jrt_cfg = preset_config(preset, vocab_size=512) if args.quick else preset_config(preset)
    vocab = jrt_cfg.vocab_size
    id_high = min(50000, vocab)
    need_jrt = args.profile_step or any(m.startswith("jrt") for m in methods)
    need_llama = any(m.startswith("llama") for m in methods)
    jrt = JRTForCausalLM(jrt_cfg).to(device, dtype).eval() if need_jrt else None
    llama = build_llama(vocab, tiny=args.quick).to(device, dtype).eval() if need_llama else None
    jrt_state = jrt.recurrent_state_bytes(batch_size=1, dtype=dtype)["total"] if jrt is not None else None
    # the check's reference: the same weights one dtype wider (bf16 -> float32, float32 -> float64), on
    # the CPU except during a check; built only when a checked method (a graphed or compiled step) runs
    wider = torch.float64 if dtype == torch.float32 else torch.float32
    checked = any(m.startswith("jrt-compile") or (m == "jrt-graph" and cuda) for m in methods)
    jrt_reference = (copy.deepcopy(jrt).to("cpu", wider) if jrt is not None and checked and args.check_reference
                     and args.check_tokens > 0 else None)
    meta = dict(card=torch.cuda.get_device_name() if cuda else "cpu", date=datetime.date.today().isoformat(),
                torch=torch.__version__, command=" ".join(sys.argv), quick=args.quick, jrt_preset=preset,
                jrt_params=sum(p.numel() for p in jrt.parameters()) if jrt is not None else None,
                llama_params=sum(p.numel() for p in llama.parameters()) if llama is not None else None,
                dtype=str(dtype).replace("torch.", ""), methods=methods, hbm_bytes_per_s=args.hbm_bw,
                check_reference_dtype=str(wider).replace("torch.", "") if jrt_reference is not None else None)
    try:
        import transformers
        meta["transformers"] = transformers.__version__
    except Exception:
        pass
    rows: list[dict] = []
    profiles: list[dict] = []

    def write() -> None:
        (out_dir / "generate.json").write_text(json.dumps({"meta": meta, "rows": rows, "profile": profiles},
                                                          indent=1))
        lp = meta["llama_params"] or 0
        lp_text = f"{lp / 1e6:.0f}M" if lp >= 1e7 else f"{lp / 1e6:.2f}M"
        versus = f" vs Llama ({lp_text})" if lp else ""   # no Llama method in this run
        lines = [f"# Generation: {preset}{versus}, {meta['card']}, {meta['date']}", "",
                 "| method | B | prompt | prefill ms | decode tok/s | step ms | floor ms | state bytes/seq | decode |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if "error" in r:
                lines.append(f"| {r['method']} | {r['batch']} | {r['prompt']} | {r['error']} | | | | | |")
            else:
                mode = r.get("decode_mode", "")
                if "graph_error" in r:
                    mode += " (graph failed)"
                lines.append(f"| {r['method']} | {r['batch']} | {r['prompt']} | {r['prefill_ms']:.1f} | "
                             f"{r['decode_tokens_per_s']:.0f} | {r['decode_step_ms']:.3f} | {r['step_floor_ms']:.3f} | "
                             f"{r['state_bytes_per_seq'] / 2**20:.1f} MiB | {mode} |")
        (out_dir / "generate.md").write_text("\n".join(lines) + "\n")
        if profiles:
            title = f"{preset} eager decode step, {meta['card']}, {meta['date']}"
            (out_dir / "generate_profile.md").write_text("\n".join(profile_markdown(profiles, title)) + "\n")

    write()
    if args.profile_step:
        for batch in [int(b) for b in args.profile_batches.split(",")]:
            try:
                prof = profile_jrt_step(jrt, batch, args.profile_prompt, args.profile_steps, args.profile_top,
                                        args.hbm_bw, dtype, device, id_high, compiled=args.profile_compiled)
            except Exception as exc:
                prof = dict(batch=batch, prompt=args.profile_prompt, steps=args.profile_steps,
                            error="OOM" if isinstance(exc, torch.OutOfMemoryError)
                            else f"{type(exc).__name__}: {str(exc)[:300]}")
            profiles.append(prof)
            print(json.dumps({k: v for k, v in prof.items() if k != "top_kernels"}), flush=True)
            if cuda:
                torch.cuda.empty_cache()
            write()

    llama_kv_token = kv_bytes_per_token(llama.config, dtype) if llama is not None else None
    p_bytes = dict(jrt=param_bytes(jrt) if jrt is not None else 0, llama=param_bytes(llama) if llama is not None else 0)
    steps = args.new_tokens - 1
    for batch in [int(b) for b in args.batches.split(",")]:
        for prompt in [int(t) for t in args.prompts.split(",")]:
            ids = torch.randint(0, id_high, (batch, prompt), device=device) if methods else None
            for method in methods:
                row = dict(method=method, batch=batch, prompt=prompt, new_tokens=args.new_tokens)
                if batch * prompt > args.max_batch_tokens:
                    rows.append(dict(row, error=f"skipped: B x T > {args.max_batch_tokens}"))
                    write()
                    continue
                if method.startswith("llama-static"):
                    need = batch * (prompt + args.new_tokens) * llama_kv_token + p_bytes["llama"]
                    if need > args.static_cache_gib * 2**30:
                        rows.append(dict(row, error=f"skipped: static KV cache + weights {need / 2**30:.1f} GiB "
                                                    f"> --static-cache-gib {args.static_cache_gib:g}"))
                        print(json.dumps(rows[-1]), flush=True)
                        write()
                        continue
                try:
                    info = {}
                    with torch.no_grad():
                        if method == "llama-sdpa":
                            prefill_ms, decode_ms = hf_generate_times(llama, ids, args.new_tokens, args.repeats)
                            info["decode_mode"] = "hf-generate"
                        elif method.startswith("llama-static"):
                            prefill_ms, decode_ms, info = static_times(
                                llama, ids, args.new_tokens, args.repeats, cuda_graph=method.endswith("graph"),
                                check_tokens=args.check_tokens if method.endswith("graph") else 0,
                                check_prefill_max_tokens=65536 if method.endswith("graph") else 0)
                        elif method == "jrt-hf":
                            prefill_ms, decode_ms = hf_generate_times(jrt, ids, args.new_tokens, args.repeats)
                            info["decode_mode"] = "hf-generate"
                        else:
                            prefill_ms, decode_ms, info = graph_times(jrt, ids, args.new_tokens, args.repeats,
                                                                      compile=method.startswith("jrt-compile"),
                                                                      check_tokens=args.check_tokens,
                                                                      skinny_linear=False if "cublas" in method
                                                                      else None, reference=jrt_reference)
                    if method.startswith("llama"):
                        state = (prompt + args.new_tokens) * llama_kv_token
                        floor_bytes = p_bytes["llama"] + batch * state                      # K/V read once
                    else:
                        state = jrt_state
                        floor_bytes = p_bytes["jrt"] + 2 * batch * state                    # state read + written
                    row["state_bytes_per_seq"] = state
                    row.update(info)
                    row.update(prefill_ms=prefill_ms, decode_ms=decode_ms,
                               decode_tokens_per_s=batch * steps / (decode_ms / 1e3),
                               decode_step_ms=decode_ms / steps,
                               step_floor_ms=floor_bytes / args.hbm_bw * 1e3)
                    if cuda and "peak_gib" not in row:
                        row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
                except torch.OutOfMemoryError:
                    row["error"] = "OOM"
                except Exception as exc:  # record and continue: one failing cell must not lose the sweep
                    row["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                rows.append(row)
                print(json.dumps(row), flush=True)
                write()
    write()
    print((out_dir / "generate.md").read_text())
    if profiles:
        print((out_dir / "generate_profile.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
