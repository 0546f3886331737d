"""JRT-RNN and Based models (Hugging Face), their cache and presets. Importing registers the
model with AutoConfig / AutoModelForCausalLM."""
from transformers import AutoConfig, AutoModelForCausalLM

from .cache import JRTCache
from .configuration_jrt import LAYER_TYPES, JRTConfig
from .convert import ConversionError, convert_official
from .modeling_jrt import JRTForCausalLM, JRTModel
from .presets import PRESET_NAMES, PRESETS, preset_config

AutoConfig.register("jrt", JRTConfig, exist_ok=True)
AutoModelForCausalLM.register(JRTConfig, JRTForCausalLM, exist_ok=True)

__all__ = ["JRTConfig", "JRTForCausalLM", "JRTModel", "JRTCache", "preset_config", "PRESETS", "PRESET_NAMES",
           "LAYER_TYPES", "ConversionError", "convert_official"]
