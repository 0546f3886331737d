"""Loading a causal LM by name: a local Hugging Face folder (any architecture) or a JRT preset.

JRT folders load strictly (JRTForCausalLM.from_pretrained): a missing or unexpected tensor, or a
NaN/inf weight, is a ValueError naming it, never a warning with randomly initialised weights.
Official JRT-RNN / Based checkpoints (the paper's released models), as a local folder in the
official layout or as a hub id (`hazyresearch/JRT-360M-30B`, fetched with huggingface_hub), are
converted in memory on load (jrt.models.convert; `jrt convert` saves the result instead). Any
other name that is neither a local folder with a config.json nor a preset is an error: other hub
models are downloaded by the user first.
Model types transformers implements load with transformers' own class (flash-linear-attention,
once imported, registers its Mamba/Mamba2 over them); those it does not know (fla's GLA, RWKV7,
...) are registered by importing fla first. With JRT_MAMBA2_SCAN=fla, HF Mamba2 gets fla's scan.
fla's RMSNorms run in PyTorch once loaded (`fla_norms`: their Triton kernels autotune anew for
most padded batch shapes an evaluation brings).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from .convert import convert_official, is_hub_id, is_official_folder
from .modeling_jrt import JRTForCausalLM
from .presets import PRESET_NAMES, preset_config


def load_causal_lm(pretrained: str, tokenizer=None, dtype: torch.dtype | None = None):
    """A causal LM from a local folder, an official checkpoint (folder or hub id), or a random-weight JRT
    preset (``jrt-tiny``, ...), in eval mode.

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
    elif is_hub_id(pretrained) or is_official_folder(pretrained):
        model = convert_official(pretrained)   # a ConversionError (ValueError) names what is wrong
    else:
        path = Path(pretrained).expanduser()
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise ValueError(f"model {pretrained!r} is neither a model folder with a config.json nor a preset "
                             f"name (presets: {', '.join(PRESET_NAMES)})")
        model_class = _prepare_architecture(path)
        try:
            model = model_class.from_pretrained(str(path), dtype=dtype or "auto")
        except Exception as exc:  # noqa: BLE001  (any loading failure becomes one clear error)
            raise ValueError(f"could not load a causal LM from {str(path)!r}: {exc}") from exc
        if "fla" in sys.modules:  # a model with fla modules has imported it; none otherwise
            from jrt.baselines.fla_norms import use_torch_rms_norms

            use_torch_rms_norms(model)  # no per-shape Triton autotuning on variable-length batches
    if dtype is not None:
        model = model.to(dtype)
    return model.eval()


def _prepare_architecture(path: Path):
    """The class that loads the folder: transformers' own for the model types it implements.

    Importing flash-linear-attention registers fla's models with the Auto classes *over*
    transformers' ones for the types both have (``mamba``, ``mamba2``, ...; ``exist_ok=True``), so
    once anything imported fla (the fla Mamba2 scan does), ``AutoModelForCausalLM`` would build a
    folder saved from ``transformers.Mamba2ForCausalLM`` as fla's Mamba2 (another implementation,
    whose pure-PyTorch fallback needs 64 GiB for one batch of 32 x 1000 tokens). So for a type in
    transformers' static table its class is taken from there, registrations aside; a type that
    transformers lacks (fla's GLA, RWKV7, ...) is registered by importing fla and loaded through
    the Auto class. Mamba2 also gets the opt-in fla scan (JRT_MAMBA2_SCAN=fla).
    """
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        model_type = json.loads((path / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        return transformers.AutoModelForCausalLM  # from_pretrained reports the unreadable config
    if model_type == "mamba2":
        from jrt.baselines.mamba2_scan import maybe_install

        maybe_install()  # JRT_MAMBA2_SCAN=fla: the scan through fla (see mamba2_scan)
    native = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(model_type)
    if native is not None and hasattr(transformers, native):
        return getattr(transformers, native)
    if model_type and model_type not in transformers.CONFIG_MAPPING:  # its static table and registrations
        try:
            import fla  # noqa: F401  (registers GLA, RWKV7, ... with the Auto classes)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"model {str(path)!r} has model_type {model_type!r}, unknown to transformers; "
                             "if it is a flash-linear-attention model, install it "
                             f"(pip install flash-linear-attention einops): {exc}") from exc
    return transformers.AutoModelForCausalLM
