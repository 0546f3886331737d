"""Sliding-window softmax attention with rotary positions and a ring-buffer decode cache.

Query i attends keys j with 0 <= i - j < window (itself included). Prefill and training run
blockwise: queries in blocks of `window`, each against its own and the previous block of keys,
so memory is O(T * window), not O(T^2). Decoding keeps the last `window` keys and values in a
ring buffer, a cache whose size does not depend on the sequence length.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def rotary_embedding(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0,
                     rotary_dim: int | None = None) -> torch.Tensor:
    """x [B, H, T, hd] rotated by positions [B, T] (half-split rotary, as Llama and flash-attn's
    non-interleaved rotary); only the first rotary_dim dims (default: all) rotate."""
    if rotary_dim is not None and rotary_dim < x.shape[-1]:
        if rotary_dim == 0:
            return x
        return torch.cat([rotary_embedding(x[..., :rotary_dim], positions, base), x[..., rotary_dim:]], dim=-1)
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (base ** (torch.arange(half, device=x.device, dtype=torch.float32) / half))
    angles = positions.float().unsqueeze(-1) * inv_freq                                # [B, T, hd/2]
    cos, sin = angles.cos().unsqueeze(1), angles.sin().unsqueeze(1)                     # [B, 1, T, hd/2]
    x1, x2 = x[..., :half].float(), x[..., half: 2 * half].float()
    rotated = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    if x.shape[-1] % 2:
        rotated = torch.cat([rotated, x[..., -1:].float()], dim=-1)
    return rotated.to(x.dtype)


def blocked_window_attention(q, k, v, key_valid, window: int, max_score_elements: int = 2**28):
    """q, k, v [B, H, T, hd]; key_valid [B, T] bool -> [B, H, T, hd].

    The masked SDPA forms a [W, 2W] score block per query block; batches are processed in slices
    so that no more than `max_score_elements` scores exist at once (long prefills stay in memory).
    """
    batch, heads, seq_len, head_dim = q.shape
    rows_per_slice = max(1, max_score_elements // (heads * seq_len * 2 * window))
    if batch > rows_per_slice:
        return torch.cat([blocked_window_attention(q[i:i + rows_per_slice], k[i:i + rows_per_slice],
                                                   v[i:i + rows_per_slice], key_valid[i:i + rows_per_slice],
                                                   window, max_score_elements)
                          for i in range(0, batch, rows_per_slice)], dim=0)
    num_blocks = -(-seq_len // window)
    pad = num_blocks * window - seq_len
    if pad:
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        key_valid = F.pad(key_valid, (0, pad), value=False)

    def with_previous_block(t):  # [B, H, N*W, X] -> [B, H, N, 2W, X]
        blocks = t.view(batch, heads, num_blocks, window, -1)
        previous = torch.cat([torch.zeros_like(blocks[:, :, :1]), blocks[:, :, :-1]], dim=2)
        return torch.cat([previous, blocks], dim=3)

    q_blocks = q.view(batch, heads, num_blocks, window, head_dim)                       # [B, H, N, W, hd]
    k_pairs, v_pairs = with_previous_block(k), with_previous_block(v)                   # [B, H, N, 2W, hd]
    valid = key_valid.view(batch, num_blocks, window)
    valid_pairs = torch.cat([torch.zeros_like(valid[:, :1]), valid[:, :-1]], dim=1)
    valid_pairs = torch.cat([valid_pairs, valid], dim=2)                                # [B, N, 2W]

    local_q = torch.arange(window, device=q.device).unsqueeze(1)                        # a
    local_k = torch.arange(2 * window, device=q.device).unsqueeze(0)                    # b
    band = (local_k > local_q) & (local_k <= local_q + window)                         # 0 <= i - j < W
    is_self = local_k == local_q + window                                               # keeps pad rows finite
    allowed = (band & valid_pairs[:, None, :, None, :]) | is_self                       # [B, 1, N, W, 2W]
    out = F.scaled_dot_product_attention(q_blocks, k_pairs, v_pairs, attn_mask=allowed)
    return out.reshape(batch, heads, num_blocks * window, head_dim)[:, :, :seq_len]


class SlidingWindowAttention(nn.Module):
    """window_size: keys per query, itself included; rotary_dim: rotated dims per head (None: all);
    bias: biases on the qkv and out projections."""

    def __init__(self, hidden_size: int, num_heads: int, window_size: int = 128, rope_base: float = 10000.0,
                 rotary_dim: int | None = None, bias: bool = False):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, hidden_size // num_heads
        self.window_size, self.rope_base, self.rotary_dim = window_size, rope_base, rotary_dim
        self.qkv_proj = nn.Linear(hidden_size, 3 * hidden_size, bias=bias)
        self.out_proj = nn.Linear(hidden_size, hidden_size, bias=bias)

    def forward(self, x, mask=None, cache: dict | None = None, positions: torch.Tensor | None = None):
        """x [B, T, d]; mask [B, T] bool; positions [B, T] rotary positions (default 0..T-1)."""
        batch, seq_len, _ = x.shape
        if positions is None:
            positions = torch.arange(seq_len, device=x.device).expand(batch, seq_len)
        qkv = self.qkv_proj(x).view(batch, seq_len, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                                             # [B, H, T, hd] each
        q = rotary_embedding(q, positions, self.rope_base, self.rotary_dim)
        k = rotary_embedding(k, positions, self.rope_base, self.rotary_dim)
        key_valid = torch.ones(batch, seq_len, dtype=torch.bool, device=x.device) if mask is None else mask

        if cache is not None and "k" in cache:
            if seq_len != 1:
                raise ValueError("SlidingWindowAttention: after prefill, the cache takes one token at a time")
            # all updates in place with a device-side slot index: a CUDA graph can replay this step
            slot = cache["next_slot"]                                                    # [1] long
            cache["k"].index_copy_(2, slot, k)
            cache["v"].index_copy_(2, slot, v)
            cache["valid"].index_fill_(1, slot, True)
            cache["next_slot"].add_(1).remainder_(self.window_size)
            attn_mask = cache["valid"][:, None, None, :]                                # [B, 1, 1, W]
            out = F.scaled_dot_product_attention(q, cache["k"], cache["v"], attn_mask=attn_mask)
        else:
            out = blocked_window_attention(q, k, v, key_valid, self.window_size)
            if cache is not None:
                self._fill_cache(cache, k, v, key_valid)
        return self.out_proj(out.transpose(1, 2).reshape(batch, seq_len, -1))

    def _fill_cache(self, cache, k, v, key_valid):
        """Keep the last `window` keys/values of the prompt in a ring buffer of fixed size."""
        window, seq_len = self.window_size, k.shape[2]
        keep = min(window, seq_len)
        k_buf = k.new_zeros(k.shape[0], k.shape[1], window, k.shape[3])
        v_buf = torch.zeros_like(k_buf)
        valid = torch.zeros(k.shape[0], window, dtype=torch.bool, device=k.device)
        k_buf[:, :, :keep] = k[:, :, seq_len - keep:]
        v_buf[:, :, :keep] = v[:, :, seq_len - keep:]
        valid[:, :keep] = key_valid[:, seq_len - keep:]
        # the oldest entry sits in slot 0 when the buffer is full; otherwise slot `keep` is free
        next_slot = torch.tensor([keep % window], dtype=torch.long, device=k.device)
        cache.update(k=k_buf, v=v_buf, valid=valid, next_slot=next_slot)
