"""Models by name, as `jrt train --model` and the benchmarks take them.

    jrt-small | based-small | jrt-tiny | ...   a jrt.models preset (JRT-RNN or Based)
    hf-llama:<size> | hf-mamba2:<size>         transformers' Llama / Mamba2 matched to jrt-<size>
    hf-gla:<size>                              fla's GLA (flash-linear-attention, CUDA)

<size> is a preset size (tiny, small, 360m, 1.3b) or a parameter count such as ``50m``.
"""
from __future__ import annotations

from .hf import KINDS, build, count_parameters, matched_config


def pad_vocab(n: int, multiple: int = 8) -> int:
    return ((n + multiple - 1) // multiple) * multiple


def check_name(name: str) -> None:
    """ValueError listing the valid names when `name` is none of them (before anything is built)."""
    from jrt.models import PRESET_NAMES

    kind = next((k for k in KINDS if name.startswith(f"hf-{k}:")), None)
    if name not in PRESET_NAMES and kind is None:
        raise ValueError(f"unknown model {name!r}: a preset ({', '.join(PRESET_NAMES)}) or "
                         f"hf-<{'|'.join(KINDS)}>:<size> (size: tiny, small, 360m, 1.3b or a count such as 50m)")


def build_by_name(name: str, vocab_size: int, seq_len: int, enc_length: int | None = None,
                  overrides: dict | None = None):
    """(model, info) for `name`; info: name, family, params, default objective, enc_length, mask id, config.

    The vocabulary is padded to a multiple of 8 (the padding slots hold the JRT [MASK] token).
    """
    vocab = pad_vocab(vocab_size)
    overrides = dict(overrides or {})
    kind = next((k for k in KINDS if name.startswith(f"hf-{k}:")), None)
    if kind is not None:
        config, info = matched_config(kind, name.split(":", 1)[1], vocab, seq_len)
        for key, value in overrides.items():
            setattr(config, key, value)
        model = build(kind, config)
        info.update({"name": name, "family": f"hf-{kind}", "params": count_parameters(model),
                     "default_objective": "ntp", "enc_length": None, "mask_token_id": None,
                     "config": config.to_dict()})
        if kind == "mamba2":
            from .mamba2_scan import maybe_install

            info["mamba2_scan"] = maybe_install()
        return model, info

    from jrt.models import JRTForCausalLM, preset_config

    check_name(name)
    fields = {"vocab_size": vocab, **({"enc_length": int(enc_length)} if enc_length is not None else {})}
    config = preset_config(name, **{**fields, **overrides})
    if config.is_jrt and config.mask_token_id >= vocab:
        config.mask_token_id = vocab - 1        # a padding slot beyond the tokenizer's ids
    model = JRTForCausalLM(config)
    return model, {"name": name, "family": "jrt" if config.is_jrt else "based",
                   "params": count_parameters(model), "default_objective": "jrt" if config.is_jrt else "ntp",
                   "enc_length": int(config.enc_length) if config.is_jrt else None,
                   "mask_token_id": config.mask_token_id, "config": config.to_dict()}
