"""Prefix linear attention layer (JRT-RNN): the first P = min(enc_length, T) tokens are read
non-causally through their own key/value projections (k_enc, v_enc), every token causally
through (k, v). After prefill the state is the same (S, z) as Based, and decoding is identical.
"""
from __future__ import annotations

import torch
from torch import nn

from jrt.ops import prefix_linear_attention

from .based_attention import BasedAttention


class PrefixLinearAttention(BasedAttention):
    def __init__(self, hidden_size: int, num_heads: int, feature_dim: int = 16, enc_length: int = 1024):
        super().__init__(hidden_size, num_heads, feature_dim)
        self.enc_length = enc_length
        self.k_enc_proj = nn.Linear(hidden_size, num_heads * feature_dim, bias=False)
        self.v_enc_proj = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: dict | None = None):
        q, k, v = self._qkv(x)
        if cache is not None and "S" in cache:
            if x.shape[1] != 1:
                raise ValueError("PrefixLinearAttention: after prefill, the cache takes one token at a time")
            return self._finish(self._decode(q, k, v, cache))
        batch, seq_len, _ = x.shape
        prefix_len = min(self.enc_length, seq_len)
        x_enc = x[:, :prefix_len]
        k_enc = self.k_enc_proj(x_enc).view(batch, prefix_len, self.num_heads, self.feature_dim)   # [B, P, H, F]
        v_enc = self.v_enc_proj(x_enc).view(batch, prefix_len, self.num_heads, self.head_dim)      # [B, P, H, D]
        o, state = prefix_linear_attention(q, k, v, k_enc, v_enc, key_padding_mask=mask,
                                           output_final_state=cache is not None)
        if cache is not None:
            cache["S"], cache["z"] = state
        return self._finish(o)
