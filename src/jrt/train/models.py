"""Model construction for `jrt train`: JRT/Based presets and same-size Llama / Mamba2 / GLA baselines.

``--model`` takes
  jrt-small | based-small | jrt-tiny | ...   a ``jrt.models.preset_config`` preset
  hf-llama:<size> / hf-mamba2:<size>         a transformers LlamaForCausalLM / Mamba2ForCausalLM
  hf-gla:<size>                              fla's GLAForCausalLM (needs flash-linear-attention, GPU)
                                             each sized to match the ``jrt-<size>`` preset's parameter
                                             count (same hidden size, layers chosen to match), or a
                                             built-in table when jrt.models is not available; <size>
                                             may also be a parameter count such as ``50m``.

With ``JRT_MAMBA2_SCAN=fla`` HF Mamba2's chunk scan runs through fla's GLA kernel instead of
transformers' pure-torch SSD (jrt.models.mamba2_scan: same model and weights).
"""
from __future__ import annotations

import re

import torch

# fallback shapes (hidden size, target parameter count) when jrt.models has no preset of that name
_FALLBACK = {
    "tiny": (64, None, 2),
    "small": (512, 50_000_000, None),
    "360m": (1024, 360_000_000, None),
    "1.3b": (1792, 1_300_000_000, None),
}


HF_KINDS = ("llama", "mamba2", "gla")


def pad_vocab(n: int, multiple: int = 8) -> int:
    return ((n + multiple - 1) // multiple) * multiple


def count_parameters(model) -> int:
    seen = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def _jrt_models():
    try:
        import jrt.models as jm

        if hasattr(jm, "preset_config"):
            return jm
    except Exception:  # pragma: no cover - jrt.models still being written
        pass
    return None


def _preset_params(name: str, vocab_size: int):
    """(hidden_size, n_params, tie) of a jrt preset, counted on the meta device; None if unavailable."""
    jm = _jrt_models()
    if jm is None:
        return None
    try:
        cfg = jm.preset_config(name, vocab_size=vocab_size)
    except Exception:
        return None
    with torch.device("meta"):
        m = jm.JRTForCausalLM(cfg)
    return cfg.hidden_size, count_parameters(m), bool(getattr(cfg, "tie_word_embeddings", True))


def _llama_config(hidden: int, layers: int, vocab: int, seq_len: int, tie: bool):
    from transformers import LlamaConfig

    heads = max(1, hidden // 64)
    inter = max(64, int(round(8 * hidden / 3 / 64)) * 64)
    return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=max(seq_len, 2048), rms_norm_eps=1e-5,
                       tie_word_embeddings=tie, attention_dropout=0.0, bos_token_id=None,
                       eos_token_id=None, pad_token_id=None)


def _mamba2_config(hidden: int, layers: int, vocab: int, seq_len: int, tie: bool):
    from transformers import Mamba2Config

    head_dim = 64 if hidden >= 128 else 16
    expand = 2
    return Mamba2Config(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, expand=expand,
                        head_dim=head_dim, num_heads=expand * hidden // head_dim, n_groups=1,
                        state_size=64 if hidden >= 128 else 16, conv_kernel=4, chunk_size=256,
                        tie_word_embeddings=tie, bos_token_id=None, eos_token_id=None,
                        pad_token_id=None, residual_in_fp32=True)


def _gla_config(hidden: int, layers: int, vocab: int, seq_len: int, tie: bool):
    GLAConfig = _fla_models().GLAConfig
    # the GLA paper's shape: 4 heads at 1k width (head dims 128/256 at expand_k 0.5 / expand_v 1)
    return GLAConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                     num_heads=max(1, hidden // 256), expand_k=0.5, expand_v=1.0, hidden_ratio=4,
                     attn_mode="chunk", use_short_conv=False, max_position_embeddings=max(seq_len, 2048),
                     tie_word_embeddings=tie, fuse_cross_entropy=False, fuse_linear_cross_entropy=False,
                     bos_token_id=None, eos_token_id=None, pad_token_id=None)


def _fla_models():
    try:
        import fla.models as fla_models
    except Exception as exc:  # noqa: BLE001
        raise ImportError("hf-gla:<size> needs flash-linear-attention and a CUDA GPU "
                          "(pip install flash-linear-attention einops)") from exc
    return fla_models


def _hf_class(kind: str):
    if kind == "gla":
        return _fla_models().GLAForCausalLM
    from transformers import LlamaForCausalLM, Mamba2ForCausalLM

    return {"llama": LlamaForCausalLM, "mamba2": Mamba2ForCausalLM}[kind]


def _meta_params(kind: str, cfg) -> int:
    with torch.device("meta"):
        return count_parameters(_hf_class(kind)(cfg))


def hf_baseline_config(kind: str, size: str, vocab: int, seq_len: int):
    """(config, info) for an HF Llama/Mamba2/GLA sized to match ``jrt-<size>`` (or a param count)."""
    make = {"llama": _llama_config, "mamba2": _mamba2_config, "gla": _gla_config}[kind]
    tie = True
    fixed_layers = None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([mMbB])", size)
    preset = _preset_params(f"jrt-{size}", vocab) if not m else None
    if preset is not None:
        hidden, target, tie = preset
        matched = f"jrt-{size}"
    elif m:
        target = int(float(m.group(1)) * (1e6 if m.group(2) in "mM" else 1e9))
        hidden = 256 if target < 20e6 else 512 if target < 100e6 else 1024 if target < 600e6 else 1792
        matched = f"{size} parameters"
    elif size in _FALLBACK:
        hidden, target, fixed_layers = _FALLBACK[size]
        matched = f"built-in '{size}' table (jrt.models preset not available)"
    else:
        raise ValueError(f"unknown size {size!r} for hf-{kind} (tiny, small, 360m, 1.3b, or e.g. 50m)")
    if fixed_layers is not None:
        cfg = make(hidden, fixed_layers, vocab, seq_len, tie)
        return cfg, {"matched_to": matched, "target_params": None}
    best = None
    for layers in range(1, 64):
        cfg = make(hidden, layers, vocab, seq_len, tie)
        n = _meta_params(kind, cfg)
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (cfg, n)
        if n > target:
            break
    return best[0], {"matched_to": matched, "target_params": target}


def build_model(spec: str, vocab_size: int, seq_len: int, enc_length: int | None = None,
                overrides: dict | None = None):
    """(model, info) for ``spec``; info has name, family, params, objective default, enc_length."""
    vocab = pad_vocab(vocab_size)
    overrides = dict(overrides or {})
    hf_kind = next((k for k in HF_KINDS if spec.startswith(f"hf-{k}:")), None)
    if hf_kind is not None:
        cfg, info = hf_baseline_config(hf_kind, spec.split(":", 1)[1], vocab, seq_len)
        for k, v in overrides.items():
            setattr(cfg, k, v)
        model = _hf_class(hf_kind)(cfg)
        scan = None
        if hf_kind == "mamba2":
            from jrt.models.mamba2_scan import maybe_install

            scan = maybe_install()
        info.update({"name": spec, "family": f"hf-{hf_kind}", "params": count_parameters(model),
                     "default_objective": "ntp", "enc_length": None, "mask_token_id": None,
                     "config": cfg.to_dict()})
        if scan:
            info["mamba2_scan"] = scan
        return model, info
    jm = _jrt_models()
    if jm is None:
        raise ValueError(f"model {spec!r} needs jrt.models.preset_config, which is not available yet; "
                         "use hf-llama:<size>, hf-mamba2:<size> or hf-gla:<size>")
    kwargs = {"vocab_size": vocab}
    if enc_length is not None:
        kwargs["enc_length"] = int(enc_length)
    kwargs.update(overrides)
    cfg = jm.preset_config(spec, **kwargs)
    if getattr(cfg, "is_jrt", False) and getattr(cfg, "mask_token_id", None) is None:
        cfg.mask_token_id = vocab - 1
    model = jm.JRTForCausalLM(cfg)
    is_jrt = bool(getattr(cfg, "is_jrt", False))
    info = {"name": spec, "family": "jrt" if is_jrt else "based", "params": count_parameters(model),
            "default_objective": "jrt" if is_jrt else "ntp",
            "enc_length": int(cfg.enc_length) if is_jrt else None,
            "mask_token_id": getattr(cfg, "mask_token_id", None), "config": cfg.to_dict()}
    return model, info


def recurrent_state_bytes(model, info: dict, seq_len: int, dtype_bytes: int = 2) -> dict | None:
    """Decode-state bytes per sequence: the model's own report, or computed for Llama/Mamba2/GLA."""
    base = getattr(model, "module", model)
    base = getattr(base, "_orig_mod", base)
    if hasattr(base, "recurrent_state_bytes"):
        try:
            return {k: int(v) for k, v in base.recurrent_state_bytes(batch_size=1).items()}
        except Exception:
            return None
    cfg = info.get("config") or {}
    if info.get("family") == "hf-llama":
        kv = cfg["num_hidden_layers"] * 2 * cfg["num_key_value_heads"] * (cfg["hidden_size"] // cfg["num_attention_heads"])
        return {"kv_cache_at_seq_len": kv * seq_len * dtype_bytes, "seq_len": seq_len,
                "total": kv * seq_len * dtype_bytes}
    if info.get("family") == "hf-mamba2":
        inner = cfg["expand"] * cfg["hidden_size"]
        ssm = cfg["num_heads"] * cfg["head_dim"] * cfg["state_size"] * 4  # fp32 state
        conv = (inner + 2 * cfg["n_groups"] * cfg["state_size"]) * (cfg["conv_kernel"] - 1) * dtype_bytes
        return {"ssm": cfg["num_hidden_layers"] * ssm, "conv": cfg["num_hidden_layers"] * conv,
                "total": cfg["num_hidden_layers"] * (ssm + conv)}
    if info.get("family") == "hf-gla":
        heads = cfg["num_heads"]
        key_dim, value_dim = int(cfg["hidden_size"] * cfg["expand_k"]), int(cfg["hidden_size"] * cfg["expand_v"])
        state = heads * (key_dim // heads) * (value_dim // heads) * 4  # fp32 state per layer
        return {"gla": cfg["num_hidden_layers"] * state, "total": cfg["num_hidden_layers"] * state}
    return None
