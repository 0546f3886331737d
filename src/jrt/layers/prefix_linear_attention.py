"""Prefix linear attention layer (JRT-RNN): each row's first enc_length real tokens are read
non-causally through their own key/value projections (k_enc, v_enc), every token causally through
(k, v). After prefill the state is the same (S, z) as Based, and decoding is identical.
"""
from __future__ import annotations

import torch
from torch import nn

from jrt.ops import prefix_linear_attention

from .based_attention import BasedAttention


def prefix_columns(mask: torch.Tensor | None, seq_len: int, enc_length: int | torch.Tensor):
    """Where each row's prefix lies: its own first ``enc_length`` real tokens.

    mask [B, T] bool (True = real token) or None; enc_length an int or a [B] tensor (one per row).
    Returns (P, prefix_mask): the prefix lies in the first P columns, and prefix_mask [B, P] marks
    each row's prefix positions (None when it is every one of the P columns). A left-padded batch
    thus gives every row the prefix it would have alone, whatever the other rows' lengths.
    """
    if mask is None and not isinstance(enc_length, torch.Tensor):
        return min(int(enc_length), seq_len), None
    if mask is None:
        mask = torch.ones(enc_length.shape[0], seq_len, dtype=torch.bool, device=enc_length.device)
    if isinstance(enc_length, torch.Tensor):
        limit = enc_length.to(mask.device).view(-1, 1)                           # [B, 1]
    else:
        limit = int(enc_length)
    in_prefix = mask & (mask.long().cumsum(-1) <= limit)                        # [B, T]
    used = in_prefix.any(0).nonzero()
    width = int(used.max()) + 1 if used.numel() else 0
    return width, in_prefix[:, :width]


class PrefixLinearAttention(BasedAttention):
    def __init__(self, hidden_size: int, num_heads: int, feature_dim: int = 16, backend: str | None = None):
        super().__init__(hidden_size, num_heads, feature_dim, backend)
        self.k_enc_proj = nn.Linear(hidden_size, num_heads * feature_dim, bias=False)
        self.v_enc_proj = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: dict | None = None,
                enc_length: int | torch.Tensor = 1024, raw_key_mask: torch.Tensor | None = None):
        """x [B, T, d]; mask [B, T] or None; enc_length: the prefix length in real tokens, an int or
        one per row ([B]). With a filled cache and T == 1: one recurrent (causal) step.

        raw_key_mask [B, T] bool (the official code's padding, with mask None): the projected keys k
        and k_enc of False positions are zeroed before the feature map; those positions still add
        phi(0) = (1, 0, ...) and their values to both sums, as in the official checkpoints' evaluation.
        """
        q, k, v = self._qkv(x)
        if raw_key_mask is not None and not (cache is not None and "S" in cache):
            k = k * raw_key_mask[:, :, None, None].to(k.dtype)
        if cache is not None and "S" in cache:
            if x.shape[1] != 1:
                raise ValueError("PrefixLinearAttention: after prefill, the cache takes one token at a time")
            return self._finish(self._decode(q, k, v, cache))
        batch = x.shape[0]
        width, prefix_mask = prefix_columns(mask, x.shape[1], enc_length)
        x_enc = x[:, :width]
        k_enc = self.k_enc_proj(x_enc).view(batch, width, self.num_heads, self.feature_dim)   # [B, P, H, F]
        if raw_key_mask is not None:
            k_enc = k_enc * raw_key_mask[:, :width, None, None].to(k_enc.dtype)
        v_enc = self.v_enc_proj(x_enc).view(batch, width, self.num_heads, self.head_dim)      # [B, P, H, D]
        o, state = prefix_linear_attention(q, k, v, k_enc, v_enc, key_padding_mask=mask, prefix_mask=prefix_mask,
                                           output_final_state=cache is not None, backend=self.backend)
        if cache is not None:
            cache["S"], cache["z"] = state
        return self._finish(o)
