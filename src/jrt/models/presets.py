"""Named configurations: the paper's 360M / 1.3B layer patterns and small ones for this project.

Layer indices are 0-based as in the official code (the paper, docs/DESIGN.md): JRT 360M has PLA at 1, 6, 11,
16, 21 and sliding-window attention at 2, 7, 12, 17, 22 among 26 layers; Based 360M keeps one more
gated convolution (27 layers). 1.3B: 36 layers, d_model 1792, PLA/Based also at 27 and 33, windows
also at 28 and 34.
"""
from __future__ import annotations

from .configuration_jrt import JRTConfig


def _pattern(num_layers: int, mixer_at: list[int], window_at: list[int], mixer: str) -> list[str]:
    types = ["conv"] * num_layers
    for i in mixer_at:
        types[i] = mixer
    for i in window_at:
        types[i] = "swa"
    return types


# the paper's windows: 128 previous tokens plus the token itself (flash-attn window (128, 0)), as the
# released checkpoints convert (jrt.models.convert); the small presets of this project keep 128 keys
_360M = dict(hidden_size=1024, num_heads=16, feature_dim=16, enc_length=1024, window_size=129)
_1B = dict(hidden_size=1792, num_heads=16, feature_dim=16, enc_length=1024, window_size=129)
_360M_MIX, _360M_WIN = [1, 6, 11, 16, 21], [2, 7, 12, 17, 22]
_1B_MIX, _1B_WIN = [1, 6, 11, 16, 21, 27, 33], [2, 7, 12, 17, 22, 28, 34]
_SMALL = dict(hidden_size=512, num_heads=8, feature_dim=16, enc_length=1024, window_size=128)
_SMALL_MIX, _SMALL_WIN = [1, 5, 9], [2, 6, 10]
_TINY = dict(hidden_size=64, num_heads=2, feature_dim=8, enc_length=32, window_size=16)

PRESETS: dict[str, dict] = {
    "jrt-360m": dict(_360M, mixer_types=_pattern(26, _360M_MIX, _360M_WIN, "pla")),
    "based-360m": dict(_360M, mixer_types=_pattern(27, _360M_MIX, _360M_WIN, "based")),
    "jrt-1.3b": dict(_1B, mixer_types=_pattern(36, _1B_MIX, _1B_WIN, "pla")),
    "based-1.3b": dict(_1B, mixer_types=_pattern(36, _1B_MIX, _1B_WIN, "based")),
    "jrt-small": dict(_SMALL, mixer_types=_pattern(12, _SMALL_MIX, _SMALL_WIN, "pla")),
    "based-small": dict(_SMALL, mixer_types=_pattern(12, _SMALL_MIX, _SMALL_WIN, "based")),
    "jrt-tiny": dict(_TINY, mixer_types=["conv", "pla", "swa", "conv"]),
    "based-tiny": dict(_TINY, mixer_types=["conv", "based", "swa", "conv"]),
}
PRESET_NAMES = tuple(PRESETS)


def preset_config(name: str, **overrides) -> JRTConfig:
    """A JRTConfig for a named preset; keyword arguments override any field."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    fields = {**PRESETS[name], **overrides}
    vocab_size = fields.get("vocab_size", 50264)
    if vocab_size < 50264:  # a small synthetic vocabulary: GPT-2's special ids would fall outside it
        fields.setdefault("mask_token_id", vocab_size - 1)
        fields.setdefault("pad_token_id", 0)
        fields.setdefault("bos_token_id", None)
        fields.setdefault("eos_token_id", None)
    return JRTConfig(**fields)
