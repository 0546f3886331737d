"""The reference of every op: a direct quadratic evaluation of docs/DESIGN.md's formulas.

Slow (O(T^2) time and memory) and obviously right: the spec the chunked torch path and the
Triton kernels are tested against. Inputs are validated by the public functions in based.py,
prefix.py and decode.py; these functions assume valid shapes.

Computation runs in float32 (float64 for float64 inputs); the output has the dtype of v.
"""
from __future__ import annotations

import torch

from ._checks import state_dtype
from .feature_map import taylor_feature_map


def _to_heads_first(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x.transpose(1, 2).to(dtype)  # [B, T, H, X] -> [B, H, T, X]


def _masked_features(k: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """phi(k) with padded positions zeroed entirely (constant term included). k: [B, H, T, F]."""
    phi_k = taylor_feature_map(k)                                        # [B, H, T, E]
    if mask is not None:
        phi_k = phi_k * mask[:, None, :, None].to(phi_k.dtype)
    return phi_k


def _quadratic_attention(q, k, v, k_enc, v_enc, initial_state, output_final_state, key_padding_mask, eps,
                         prefix_mask=None):
    dtype = state_dtype(q.dtype)
    q_h, k_h, v_h = (_to_heads_first(x, dtype) for x in (q, k, v))      # [B, H, T, F|D]
    seq_len = q_h.shape[2]
    phi_q = taylor_feature_map(q_h)                                      # [B, H, T, E]
    phi_k = _masked_features(k_h, key_padding_mask)                      # [B, H, T, E]

    causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=q.device).tril()
    weights = (phi_q @ phi_k.transpose(-1, -2)).masked_fill(~causal, 0.0)   # [B, H, T, T]
    numerator = weights @ v_h                                            # [B, H, T, D]
    denominator = weights.sum(-1)                                        # [B, H, T]

    state_s = phi_k.transpose(-1, -2) @ v_h                              # [B, H, E, D]
    state_z = phi_k.sum(-2)                                              # [B, H, E]

    if k_enc is not None:  # the non-causal prefix: every query sees every prefix position
        if prefix_mask is None and key_padding_mask is not None:
            prefix_mask = key_padding_mask[:, : k_enc.shape[1]]
        phi_k_enc = _masked_features(_to_heads_first(k_enc, dtype), prefix_mask)   # [B, H, P, E]
        v_enc_h = _to_heads_first(v_enc, dtype)                                      # [B, H, P, D]
        enc_weights = phi_q @ phi_k_enc.transpose(-1, -2)                            # [B, H, T, P]
        numerator = numerator + enc_weights @ v_enc_h
        denominator = denominator + enc_weights.sum(-1)
        state_s = state_s + phi_k_enc.transpose(-1, -2) @ v_enc_h
        state_z = state_z + phi_k_enc.sum(-2)

    if initial_state is not None:
        s0, z0 = (x.to(dtype) for x in initial_state)
        numerator = numerator + phi_q @ s0                               # [B, H, T, D]
        denominator = denominator + (phi_q * z0.unsqueeze(-2)).sum(-1)  # [B, H, T]
        state_s = state_s + s0
        state_z = state_z + z0

    out = (numerator / (denominator + eps).unsqueeze(-1)).transpose(1, 2).to(v.dtype)   # [B, T, H, D]
    return out, ((state_s, state_z) if output_final_state else None)


def based_linear_attention_naive(q, k, v, initial_state=None, output_final_state=False,
                                 key_padding_mask=None, eps=1e-12):
    """Causal Based linear attention. q, k [B, T, H, F]; v [B, T, H, D] -> (o [B, T, H, D], state)."""
    return _quadratic_attention(q, k, v, None, None, initial_state, output_final_state, key_padding_mask, eps)


def prefix_linear_attention_naive(q, k, v, k_enc, v_enc, initial_state=None, output_final_state=False,
                                  key_padding_mask=None, eps=1e-12, prefix_mask=None):
    """Prefix linear attention: the causal sum over q/k/v plus a non-causal sum over k_enc/v_enc [B, P, H, *]
    at the positions prefix_mask [B, P] keeps (default: key_padding_mask's first P columns)."""
    return _quadratic_attention(q, k, v, k_enc, v_enc, initial_state, output_final_state, key_padding_mask, eps,
                                prefix_mask)


def based_decode_step_naive(q, k, v, state, eps=1e-12):
    """One token: q, k [B, H, F]; v [B, H, D]; state (S [B, H, E, D], z [B, H, E]) -> (o [B, H, D], new state)."""
    dtype = state_dtype(q.dtype)
    s, z = (x.to(dtype) for x in state)
    phi_q = taylor_feature_map(q.to(dtype))                              # [B, H, E]
    phi_k = taylor_feature_map(k.to(dtype))                              # [B, H, E]
    s = s + phi_k.unsqueeze(-1) * v.to(dtype).unsqueeze(-2)              # [B, H, E, D]
    z = z + phi_k                                                        # [B, H, E]
    numerator = (phi_q.unsqueeze(-1) * s).sum(-2)                        # [B, H, D]
    denominator = (phi_q * z).sum(-1)                                    # [B, H]
    out = (numerator / (denominator + eps).unsqueeze(-1)).to(v.dtype)
    return out, (s, z)
