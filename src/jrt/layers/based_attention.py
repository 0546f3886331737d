"""Causal Based linear attention layer (Taylor feature map), with an O(1) decode cache (S, z)."""
from __future__ import annotations

import torch
from torch import nn

from jrt.ops import based_decode_step, based_linear_attention


class BasedAttention(nn.Module):
    """backend: the jrt.ops backend ("naive", "torch", "triton"; None picks by device)."""

    def __init__(self, hidden_size: int, num_heads: int, feature_dim: int = 16, backend: str | None = None):
        super().__init__()
        self.backend = backend
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
        self.num_heads, self.feature_dim = num_heads, feature_dim
        self.head_dim = hidden_size // num_heads
        self.q_proj = nn.Linear(hidden_size, num_heads * feature_dim, bias=False)
        self.k_proj = nn.Linear(hidden_size, num_heads * feature_dim, bias=False)
        self.v_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.out_proj = nn.Linear(hidden_size, hidden_size, bias=False)

    def _qkv(self, x):
        batch, seq_len, _ = x.shape
        q = self.q_proj(x).view(batch, seq_len, self.num_heads, self.feature_dim)   # [B, T, H, F]
        k = self.k_proj(x).view(batch, seq_len, self.num_heads, self.feature_dim)   # [B, T, H, F]
        v = self.v_proj(x).view(batch, seq_len, self.num_heads, self.head_dim)      # [B, T, H, D]
        return q, k, v

    def _decode(self, q, k, v, cache: dict):
        o, (s, z) = based_decode_step(q[:, 0], k[:, 0], v[:, 0], (cache["S"], cache["z"]), backend=self.backend)
        if s is not cache["S"]:  # in place, so a captured CUDA graph replays against the same buffers
            cache["S"].copy_(s)
            cache["z"].copy_(z)
        return o.unsqueeze(1)                                                        # [B, 1, H, D]

    def _finish(self, o):
        return self.out_proj(o.reshape(o.shape[0], o.shape[1], -1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: dict | None = None):
        """x [B, T, d] -> [B, T, d]. With a filled cache and T == 1: one recurrent step."""
        q, k, v = self._qkv(x)
        if cache is not None and "S" in cache:
            if x.shape[1] != 1:
                raise ValueError("BasedAttention: after prefill, the cache takes one token at a time")
            return self._finish(self._decode(q, k, v, cache))
        o, state = based_linear_attention(q, k, v, key_padding_mask=mask, output_final_state=cache is not None,
                                          backend=self.backend)
        if cache is not None:
            cache["S"], cache["z"] = state
        return self._finish(o)
