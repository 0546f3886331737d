"""decode_state_bytes (one convention for every model) against the cache tensors each model allocates."""
import pytest
import torch

from jrt.baselines import build, cache_tensor_bytes, decode_state_bytes, llama_config, mamba2_config
from jrt.models import JRTForCausalLM, preset_config

VOCAB = 97


def _prefill_cache(model, seq_len):
    ids = torch.randint(0, VOCAB, (1, seq_len))
    out = model(ids, use_cache=True)
    return getattr(out, "cache_params", None) or out.past_key_values


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("seq_len", [10, 23])
def test_llama_kv_cache_bytes_equal_the_real_cache(dtype, seq_len):
    model = build("llama", llama_config(64, 2, VOCAB)).to(dtype).eval()
    expected = decode_state_bytes(model, seq_len, dtype)
    assert expected["total"] == cache_tensor_bytes(_prefill_cache(model, seq_len))
    assert decode_state_bytes(model, 2 * seq_len, dtype)["total"] == 2 * expected["total"]  # grows with T


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_mamba2_state_bytes_equal_the_real_cache(dtype):
    model = build("mamba2", mamba2_config(64, 2, VOCAB)).to(dtype).eval()
    expected = decode_state_bytes(model, 10, dtype)
    assert expected["total"] == cache_tensor_bytes(_prefill_cache(model, 10))
    assert decode_state_bytes(model, 1000, dtype) == expected                                 # constant


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_jrt_state_bytes_equal_the_real_cache(name, dtype):
    model = JRTForCausalLM(preset_config(name, vocab_size=VOCAB)).to(dtype).eval()
    cache = _prefill_cache(model, 40)
    windows = model.config.mixer_types.count("swa")
    # the cache also holds one rotary position per row (int64) and each window's ring-buffer slot (int64)
    assert decode_state_bytes(model, 40, dtype)["total"] + 8 + windows * 8 == cache_tensor_bytes(cache)
