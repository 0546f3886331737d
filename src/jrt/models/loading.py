"""Loading a causal LM by name: a local Hugging Face folder (any architecture) or a JRT preset.

No hub access: a name that is neither a folder with a config.json nor a preset is an error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .modeling_jrt import JRTForCausalLM
from .presets import PRESET_NAMES, preset_config


def load_causal_lm(pretrained: str, tokenizer=None, dtype: torch.dtype | None = None):
    """A causal LM from a local folder, or a random-weight JRT preset (``jrt-tiny``, ...) in eval mode.

    For a preset, `tokenizer` (if given) sets the vocabulary size and the pad / eos ids.
    Raises ValueError naming the path when it holds no model.
    """
    if pretrained in PRESET_NAMES:
        overrides: dict[str, Any] = {}
        if tokenizer is not None:
            overrides["vocab_size"] = len(tokenizer)
            for attr in ("pad_token_id", "eos_token_id"):
                if getattr(tokenizer, attr, None) is not None:
                    overrides[attr] = getattr(tokenizer, attr)
        torch.manual_seed(0)
        model = JRTForCausalLM(preset_config(pretrained, **overrides))
    else:
        path = Path(pretrained).expanduser()
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise ValueError(f"model {pretrained!r} is neither a model folder with a config.json nor a preset "
                             f"name (presets: {', '.join(PRESET_NAMES)})")
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype or "auto")
        except Exception as exc:  # noqa: BLE001  (any loading failure becomes one clear error)
            raise ValueError(f"could not load a causal LM from {str(path)!r}: {exc}") from exc
    if dtype is not None:
        model = model.to(dtype)
    return model.eval()
