"""The models we compare against, built from transformers (Llama, Mamba2) and fla (GLA).

One set of config builders, used by training (`hf-llama:<size>` etc.), the synthetics, the
benchmarks and the tests:

    llama_config(hidden, layers, vocab, ...)      transformers.LlamaConfig (rotary, SwiGLU, RMSNorm)
    mamba2_config(hidden, layers, vocab, ...)     transformers.Mamba2Config
    gla_config(hidden, layers, vocab, ...)        fla.models.GLAConfig (needs flash-linear-attention)
    build(kind, config)                           the model (random init: seed first)
    matched_config(kind, size, vocab, seq_len)    a config whose parameter count matches jrt-<size>

Nothing here writes a Transformer of our own (DESIGN: baselines come from their libraries).
"""
from __future__ import annotations

import re

import torch

KINDS = ("llama", "mamba2", "gla")


def count_parameters(model) -> int:
    """Parameters, each shared tensor (tied embeddings) counted once."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def llama_config(hidden: int, layers: int, vocab: int, *, heads: int | None = None,
                 intermediate: int | None = None, max_positions: int = 2048, tie: bool = True,
                 dropout: float = 0.0):
    """A Llama of width `hidden`: heads of 64 (at least one), SwiGLU width ~8/3 hidden (multiple of 64)."""
    from transformers import LlamaConfig

    heads = heads or max(1, hidden // 64)
    intermediate = intermediate or max(64, int(round(8 * hidden / 3 / 64)) * 64)
    return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate,
                       num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=max(max_positions, 2048), rms_norm_eps=1e-5,
                       tie_word_embeddings=tie, attention_dropout=dropout, bos_token_id=None,
                       eos_token_id=None, pad_token_id=None)


def mamba2_config(hidden: int, layers: int, vocab: int, *, state_size: int | None = None,
                  head_dim: int | None = None, expand: int = 2, chunk_size: int = 256, tie: bool = True):
    """A Mamba2 of width `hidden` (expand 2, one group, conv kernel 4)."""
    from transformers import Mamba2Config

    inner = expand * hidden
    head_dim = head_dim or (64 if hidden >= 128 else _largest_divisor(inner, (16, 12, 8, 6, 4, 2, 1)))
    state_size = state_size or (64 if hidden >= 128 else 16)
    return Mamba2Config(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, expand=expand,
                        head_dim=head_dim, num_heads=inner // head_dim, n_groups=1, state_size=state_size,
                        conv_kernel=4, chunk_size=chunk_size, tie_word_embeddings=tie, bos_token_id=None,
                        eos_token_id=None, pad_token_id=None, residual_in_fp32=True)


def gla_config(hidden: int, layers: int, vocab: int, *, heads: int | None = None, max_positions: int = 2048,
               tie: bool = True):
    """fla's GLA: the GLA paper's shape (4 heads at 1k width, expand_k 0.5, expand_v 1); our loss, not fla's."""
    config_class = _fla_models().GLAConfig
    return config_class(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                        num_heads=heads or max(1, hidden // 256), expand_k=0.5, expand_v=1.0, hidden_ratio=4,
                        attn_mode="chunk", use_short_conv=False, max_position_embeddings=max(max_positions, 2048),
                        tie_word_embeddings=tie, fuse_cross_entropy=False, fuse_linear_cross_entropy=False,
                        bos_token_id=None, eos_token_id=None, pad_token_id=None)


def model_class(kind: str):
    if kind == "gla":
        return _fla_models().GLAForCausalLM
    from transformers import LlamaForCausalLM, Mamba2ForCausalLM

    classes = {"llama": LlamaForCausalLM, "mamba2": Mamba2ForCausalLM}
    if kind not in classes:
        raise ValueError(f"unknown baseline kind {kind!r}; choose one of {', '.join(KINDS)}")
    return classes[kind]


def build(kind: str, config):
    """A freshly initialised baseline (call torch.manual_seed first for reproducibility)."""
    return model_class(kind)(config)


_CONFIG_BUILDERS = {"llama": llama_config, "mamba2": mamba2_config, "gla": gla_config}
_SIZE_WIDTH = {"tiny": 64, "small": 512, "360m": 1024, "1.3b": 1792}  # the jrt-<size> presets' widths


def matched_config(kind: str, size: str, vocab: int, seq_len: int):
    """(config, info): a `kind` baseline at the width of ``jrt-<size>`` with the number of layers whose
    parameter count is closest to that preset's (or to a count such as ``50m``)."""
    if kind not in _CONFIG_BUILDERS:
        raise ValueError(f"unknown baseline kind {kind!r}; choose one of {', '.join(KINDS)}")
    count = re.fullmatch(r"(\d+(?:\.\d+)?)([mMbB])", size)
    if count:
        target = int(float(count.group(1)) * (1e6 if count.group(2) in "mM" else 1e9))
        hidden = 256 if target < 20e6 else 512 if target < 100e6 else 1024 if target < 600e6 else 1792
        matched = f"{size} parameters"
    elif size in _SIZE_WIDTH:
        from jrt.models import JRTForCausalLM, preset_config

        with torch.device("meta"):
            preset = JRTForCausalLM(preset_config(f"jrt-{size}", vocab_size=vocab))
        hidden, target, matched = preset.config.hidden_size, count_parameters(preset), f"jrt-{size}"
    else:
        raise ValueError(f"unknown size {size!r} for hf-{kind} ({', '.join(_SIZE_WIDTH)}, or a count such as 50m)")

    def make(layers):
        kwargs = {} if kind == "mamba2" else {"max_positions": seq_len}
        return _CONFIG_BUILDERS[kind](hidden, layers, vocab, **kwargs)

    best = None
    for layers in range(1, 64):
        config = make(layers)
        with torch.device("meta"):
            n = count_parameters(build(kind, config))
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (config, n)
        if n > target:
            break
    return best[0], {"matched_to": matched, "target_params": target}


def _largest_divisor(n: int, choices) -> int:
    return next(c for c in choices if n % c == 0)


def _fla_models():
    try:
        import fla.models as fla_models
    except Exception as exc:  # noqa: BLE001  (fla fails to import without CUDA/einops: one message)
        raise ImportError("GLA needs flash-linear-attention and a CUDA GPU (pip install flash-linear-attention "
                          f"einops, which also installs its kernels package fla-core); import fla.models said: "
                          f"{type(exc).__name__}: {exc}") from exc
    return fla_models


def fla_available() -> bool:
    try:
        _fla_models()
    except ImportError:
        return False
    return True
