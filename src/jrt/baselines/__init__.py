"""The models JRT is compared against, in one place: transformers' Llama and Mamba2, fla's GLA.

    hf            config builders, `build`, parameter-matched configs
    by_name       models by name: JRT presets and `hf-llama:small`, ... (training, benchmarks)
    state         decode-state bytes, one convention for JRT models and baselines alike
    mamba2_scan   HF Mamba2's chunk scan through fla's GLA kernel (opt-in, CUDA)
    fla_norms     fla's RMSNorms in PyTorch for inference on variable-length batches
"""
from .by_name import build_by_name, pad_vocab
from .hf import (
                 KINDS,
                 build,
                 count_parameters,
                 fla_available,
                 gla_config,
                 llama_config,
                 mamba2_config,
                 matched_config,
                 model_class,
)
from .state import cache_tensor_bytes, decode_state_bytes

__all__ = ["KINDS", "build", "count_parameters", "fla_available", "gla_config", "llama_config", "mamba2_config",
           "matched_config", "model_class", "decode_state_bytes", "cache_tensor_bytes", "build_by_name", "pad_vocab"]
