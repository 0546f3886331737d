"""One-token recurrent step: the O(1) decode of Based and PLA (both leave the same (S, z) state)."""
from __future__ import annotations

import torch

from . import naive
from ._checks import check_state, check_tensor, pick_backend


def based_decode_step(q, k, v, state, eps: float = 1e-12, backend: str | None = None):
    """Adds token (k, v) to the state, then reads it with q.

    Args:
        q, k: [B, H, F]; v: [B, H, D]; state: (S [B, H, E, D], z [B, H, E]) float32.
    Returns:
        (o [B, H, D] in v's dtype, (S, z) updated).
    """
    op = "based_decode_step"
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(name, t, 3)
    if q.shape != k.shape:
        raise ValueError(f"{op}: q and k must have the same shape [B, H, F], got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if v.shape[:2] != q.shape[:2]:
        raise ValueError(f"{op}: v must be [B, H, D] with B, H of q {tuple(q.shape)}, got v {tuple(v.shape)}")
    if state is None:
        raise ValueError(f"{op}: state is required (use zeros, or the state returned by a prefill)")
    batch, heads, feature_dim = q.shape
    state = check_state("state", state, batch, heads, feature_dim, v.shape[-1], op)
    backend = pick_backend(backend, q)
    if backend == "triton":
        from .triton import based_decode_step_triton
        return based_decode_step_triton(q, k, v, state, eps)
    if backend not in ("torch", "naive"):
        raise ValueError(f"{op}: backend must be None, 'naive', 'torch' or 'triton', got {backend!r}")
    return naive.based_decode_step_naive(q, k, v, state, eps)


def empty_state(batch: int, heads: int, feature_dim: int, head_dim: int, device=None, dtype=torch.float32):
    """Zero (S, z) for a fresh sequence."""
    expanded = 1 + feature_dim + feature_dim * feature_dim
    return (torch.zeros(batch, heads, expanded, head_dim, device=device, dtype=dtype),
            torch.zeros(batch, heads, expanded, device=device, dtype=dtype))
