"""`jrt info`, `jrt generate` and `jrt convert`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def describe_preset(name: str, dtype: torch.dtype = torch.bfloat16, contexts=(2048, 8192, 32768)) -> dict:
    """Parameters and decode-state bytes of a preset, next to a same-size Transformer's KV cache."""
    from . import JRTForCausalLM, preset_config

    config = preset_config(name)
    with torch.device("meta"):
        model = JRTForCausalLM(config).to(dtype)
    params = sum(p.numel() for p in model.parameters())
    state = model.recurrent_state_bytes(batch_size=1, dtype=dtype)
    act = torch.finfo(dtype).bits // 8
    # Transformer of the same width and depth: K and V per layer per token, in the same dtype
    kv = {t: 2 * config.num_hidden_layers * config.hidden_size * t * act for t in contexts}
    return {"preset": name, "parameters": params, "layers": config.num_hidden_layers,
            "hidden_size": config.hidden_size, "mixers": {k: config.mixer_types.count(k) for k in sorted(set(config.mixer_types))},
            "state_bytes": state, "transformer_kv_bytes": kv, "dtype": str(dtype).replace("torch.", "")}


def _unknown_preset(name: str) -> str:
    """One line: the unknown name, the closest preset (difflib) and every valid one."""
    import difflib

    from .presets import PRESET_NAMES

    close = difflib.get_close_matches(name, [*PRESET_NAMES, "all"], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"jrt info: unknown preset {name!r}{hint}; valid presets: {', '.join(PRESET_NAMES)}, all"


def _cmd_info(args) -> int:
    from .presets import PRESET_NAMES
    if args.preset != "all" and args.preset not in PRESET_NAMES:
        print(_unknown_preset(args.preset), file=sys.stderr)
        return 2
    names = PRESET_NAMES if args.preset == "all" else [args.preset]
    for name in names:
        info = describe_preset(name)
        print(f"{name}: {info['parameters'] / 1e6:.1f}M parameters, {info['layers']} layers, "
              f"d_model {info['hidden_size']}, mixers {info['mixers']}")
        print(f"  recurrent state per sequence ({info['dtype']} activations, float32 linear-attention states):")
        for kind, n in info["state_bytes"].items():
            if kind != "total":
                print(f"    {kind:<6} {_human_bytes(n):>12}")
        total = info["state_bytes"]["total"]
        print(f"    {'total':<6} {_human_bytes(total):>12}   (the same at any sequence length)")
        print(f"  same-size Transformer KV cache ({info['layers']} layers x d_model {info['hidden_size']}, {info['dtype']}):")
        for t, n in info["transformer_kv_bytes"].items():
            print(f"    {t:>6} tokens {_human_bytes(n):>12}   ({n / total:.1f}x the JRT state)")
    return 0


def load_model(model: str, device: str = "cpu", dtype: torch.dtype | None = None):
    """A JRTForCausalLM (or any HF causal LM) from a local directory, or a preset with random weights."""
    from .loading import load_causal_lm
    from .presets import PRESET_NAMES

    if model in PRESET_NAMES:
        print(f"[jrt] {model} is a preset: random weights (pass a trained model directory for real text)",
              file=sys.stderr)
    try:
        net = load_causal_lm(model, dtype=dtype)
    except ValueError as exc:
        raise SystemExit(f"jrt: --model: {exc}") from exc
    return net.to(device=device)


def _cmd_generate(args) -> int:
    from transformers import AutoTokenizer, TextStreamer

    if not args.prompt:
        raise SystemExit("jrt generate: --prompt is empty")
    if not Path(args.tokenizer).exists():
        raise SystemExit(f"jrt generate: tokenizer path {args.tokenizer!r} does not exist")
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = load_model(args.model, device, dtype)
    ids = tokenizer(args.prompt, return_tensors="pt").input_ids.to(device)
    streamer = TextStreamer(tokenizer, skip_prompt=True)
    extra = {"prefix_fill": args.prefix_fill} if getattr(model.config, "model_type", "") == "jrt" else {}
    model.generate(ids, max_new_tokens=args.max_new_tokens, do_sample=False, streamer=streamer,
                   pad_token_id=tokenizer.eos_token_id, **extra)
    print()
    return 0


def _cmd_convert(args) -> int:
    from .convert import ConversionError, convert_official

    try:
        model = convert_official(args.src, args.dst, padding_semantics=args.padding_semantics,
                                 tokenizer=args.tokenizer)
    except ConversionError as exc:
        print(f"jrt convert: {exc}", file=sys.stderr)
        return 1
    kinds = {k: model.config.mixer_types.count(k) for k in sorted(set(model.config.mixer_types))}
    params = sum(p.numel() for p in model.parameters())
    print(f"converted {args.src} -> {args.dst}: {params / 1e6:.1f}M parameters, "
          f"{model.config.num_hidden_layers} layers {kinds}, padding_semantics={model.config.padding_semantics}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="parameters and recurrent-state bytes vs a Transformer KV cache")
    info.add_argument("preset", help="a preset name (jrt-360m, based-360m, jrt-1.3b, ...) or 'all'")
    info.set_defaults(func=_cmd_info)

    gen = subparsers.add_parser("generate", help="greedy generation, streaming tokens to stdout")
    gen.add_argument("--model", required=True, help="a model directory or a preset name (random weights)")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--tokenizer", required=True, help="a Hugging Face tokenizer directory (e.g. GPT-2)")
    gen.add_argument("--max-new-tokens", type=int, default=64)
    gen.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    gen.add_argument("--prefix-fill", choices=["pad", "repeat"], default="pad",
                     help="JRT models: fill a short prompt's prefix with pads, or read it twice first")
    gen.set_defaults(func=_cmd_generate)

    conv = subparsers.add_parser("convert", help="official JRT-RNN / Based checkpoint -> a Hugging Face JRT folder")
    conv.add_argument("src", help="an official checkpoint folder (config.json + pytorch_model.bin) or a hub id")
    conv.add_argument("dst", help="the output folder (safetensors + config.json)")
    conv.add_argument("--padding-semantics", choices=["masked", "official"], default="masked",
                      help="masked: pads change nothing; official: left pads read as the official code reads them")
    conv.add_argument("--tokenizer", default=None,
                      help="a tokenizer folder whose files are copied into DST (the official models use GPT-2's)")
    conv.set_defaults(func=_cmd_convert)
