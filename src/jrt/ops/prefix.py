"""Prefix linear attention (PLA), the mixer of JRT-RNN: a non-causal prefix plus a causal sum.

    o_t = (sum_{p<P} (phi(q_t).phi(k_enc_p)) v_enc_p + sum_{s<=t} (phi(q_t).phi(k_s)) v_s)
          / (the same weights summed + eps)

The prefix (k_enc, v_enc, its own projections) is one state, sum_p phi(k_enc_p) [v_enc_p, 1],
seen by every query; the causal part then runs as Based linear attention starting from it. The
returned state sums both parts, so decoding continues with based_decode_step.
"""
from __future__ import annotations

import torch

from . import naive
from ._checks import check_kernel_choice, check_mask, check_prefix, check_qkv, check_state, pick_backend, state_dtype
from .based import based_linear_attention_torch
from .feature_map import taylor_feature_map


def prefix_state(k_enc, v_enc, prefix_mask=None):
    """sum_p phi(k_enc_p) [v_enc_p, 1] over the prefix positions that count.

    k_enc [B, P, H, F], v_enc [B, P, H, D], prefix_mask [B, P] bool or None -> [B, H, E, D+1].
    """
    dtype = state_dtype(k_enc.dtype)
    phi_k = taylor_feature_map(k_enc.transpose(1, 2).to(dtype))                # [B, H, P, E]
    if prefix_mask is not None:
        phi_k = phi_k * prefix_mask[:, None, :, None].to(dtype)
    v_h = v_enc.transpose(1, 2).to(dtype)                                       # [B, H, P, D]
    v_ones = torch.cat([v_h, torch.ones_like(v_h[..., :1])], dim=-1)            # [B, H, P, D+1]
    return phi_k.transpose(-1, -2) @ v_ones                                     # [B, H, E, D+1]


def prefix_linear_attention(q, k, v, k_enc, v_enc, initial_state=None, output_final_state: bool = False,
                            key_padding_mask=None, eps: float = 1e-12, backend: str | None = None,
                            prefix_mask=None, kernel: str | None = None, schedule: str | None = None):
    """Prefix linear attention.

    Args:
        q, k: [B, T, H, F]; v: [B, T, H, D]: every position, read causally.
        k_enc: [B, P, H, F]; v_enc: [B, P, H, D]: the prefix columns (P <= T), read non-causally.
        initial_state, output_final_state, key_padding_mask, eps, backend: as based_linear_attention.
        prefix_mask: optional [B, P] bool, True for the columns that belong to each row's prefix
            (a left-padded batch whose rows have different lengths gives each row its own first
            enc_length real tokens: jrt.layers.prefix_mask). Default: key_padding_mask[:, :P]
            (every real token of the P columns), or all of them.
        kernel, schedule: the Triton forward kernel and schedule, as based_linear_attention.
    Returns:
        (o [B, T, H, D], state or None); the state holds the prefix and the causal part.
    """
    op = "prefix_linear_attention"
    batch, seq_len, heads, feature_dim, head_dim = check_qkv(q, k, v, op)
    prefix_len = check_prefix(k_enc, v_enc, batch, seq_len, heads, feature_dim, head_dim, q.dtype, op)
    initial_state = check_state("initial_state", initial_state, batch, heads, feature_dim, head_dim, op)
    key_padding_mask = check_mask(key_padding_mask, batch, seq_len, op)
    prefix_mask = check_mask(prefix_mask, batch, prefix_len, op, name="prefix_mask", dims="[B, P]")
    if prefix_mask is None and key_padding_mask is not None:
        prefix_mask = key_padding_mask[:, :prefix_len]
    check_kernel_choice(kernel, schedule, op)
    backend = pick_backend(backend, q)
    if backend == "naive":
        return naive.prefix_linear_attention_naive(q, k, v, k_enc, v_enc, initial_state, output_final_state,
                                                   key_padding_mask, eps, prefix_mask=prefix_mask)
    if backend == "triton":
        from .triton import prefix_linear_attention_triton
        return prefix_linear_attention_triton(q, k, v, k_enc, v_enc, initial_state, output_final_state,
                                              key_padding_mask, eps, prefix_mask=prefix_mask,
                                              kernel=kernel, schedule=schedule)
    initial_sv = prefix_state(k_enc, v_enc, prefix_mask) if prefix_len > 0 else None
    return based_linear_attention_torch(q, k, v, initial_state, output_final_state, key_padding_mask, eps,
                                        initial_sv=initial_sv)
