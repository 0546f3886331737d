"""Decode-state bytes: one convention for every model we compare.

The bytes of the cache a model allocates to generate after `seq_len` tokens, per sequence, with its
activations in `dtype`. Each term follows the tensors the implementation really allocates (tested
against them in tests/baselines/test_state_bytes.py):

  JRT / Based   linear-attention states (S, z) in float32 whatever `dtype` (our kernels); the
                convolution and sliding-window caches in `dtype` (JRTForCausalLM.recurrent_state_bytes)
  Llama         keys and values of every layer and position: 2 L T H_kv d_h, in `dtype`
  Mamba2        per layer the SSM state [heads, head_dim, state_size] in float32 (transformers keeps
                it so in a bf16 model) and the convolution state [inner + 2 groups state_size,
                conv_kernel] in `dtype` (transformers keeps conv_kernel columns, not conv_kernel - 1)
  GLA (fla)     per layer the recurrent state [heads, key_dim/heads, value_dim/heads] in float32

Only the JRT/Based and Mamba2/GLA totals are independent of `seq_len`.
"""
from __future__ import annotations

import torch

FLOAT32_BYTES = 4


def decode_state_bytes(model, seq_len: int, dtype: torch.dtype = torch.bfloat16) -> dict[str, int]:
    """{part: bytes, "total": bytes} of one sequence's decode cache (see the module docstring)."""
    base = getattr(model, "module", model)            # DDP
    base = getattr(base, "_orig_mod", base)           # torch.compile
    width = torch.finfo(dtype).bits // 8
    if hasattr(base, "recurrent_state_bytes"):        # JRTForCausalLM
        return {str(k): int(v) for k, v in base.recurrent_state_bytes(batch_size=1, dtype=dtype).items()}
    cfg = base.config
    kind = cfg.model_type
    if kind == "llama":
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        kv = 2 * cfg.num_hidden_layers * seq_len * cfg.num_key_value_heads * head_dim * width
        return {"kv_cache": kv, "total": kv}
    if kind == "mamba2":
        inner = cfg.expand * cfg.hidden_size
        ssm = cfg.num_hidden_layers * cfg.num_heads * cfg.head_dim * cfg.state_size * FLOAT32_BYTES
        conv = cfg.num_hidden_layers * (inner + 2 * cfg.n_groups * cfg.state_size) * cfg.conv_kernel * width
        return {"ssm": ssm, "conv": conv, "total": ssm + conv}
    if kind == "gla":
        key_dim, value_dim = int(cfg.hidden_size * cfg.expand_k), int(cfg.hidden_size * cfg.expand_v)
        state = cfg.num_hidden_layers * key_dim * value_dim // cfg.num_heads * FLOAT32_BYTES
        return {"recurrent": state, "total": state}
    raise ValueError(f"no decode-state convention for model type {kind!r}")


def cache_tensor_bytes(cache) -> int:
    """Bytes of every distinct tensor reachable from a cache object (for tests against the formulas)."""
    seen: set[int] = set()
    total = 0

    def visit(obj, depth=0):
        nonlocal total
        if depth > 6 or obj is None:
            return
        if isinstance(obj, torch.Tensor):
            if obj.data_ptr() not in seen and obj.numel():
                seen.add(obj.data_ptr())
                total += obj.numel() * obj.element_size()
            return
        if isinstance(obj, dict):
            for value in obj.values():
                visit(value, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value, depth + 1)
        elif hasattr(obj, "__dict__"):
            for value in vars(obj).values():
                visit(value, depth + 1)

    visit(cache)
    return total
