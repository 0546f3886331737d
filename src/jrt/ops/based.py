"""Causal Based linear attention: public op, and its chunked torch path (linear in T).

    o_t = (S0^T phi(q_t) + sum_{s<=t} (phi(q_t).phi(k_s)) v_s)
          / (phi(q_t).z0 + sum_{s<=t} phi(q_t).phi(k_s) + eps)

CUDA tensors go to the Triton kernels (jrt.ops.triton); everything else to the chunked torch path.
"""
from __future__ import annotations

import torch

from . import naive
from ._checks import check_kernel_choice, check_mask, check_qkv, check_state, pick_backend, state_dtype
from .feature_map import taylor_feature_map

CHUNK_SIZE = 64


def _prefix_sums_to_state(state_sv: torch.Tensor, head_dim: int):
    """[B, H, E, D+1] (values with a ones column appended) -> (S [B, H, E, D], z [B, H, E])."""
    return state_sv[..., :head_dim], state_sv[..., head_dim]


def chunked_linear_attention(q, k, v, initial_sv=None, key_padding_mask=None, eps=1e-12,
                             chunk_size: int | None = None):
    """The chunked form, on heads-first tensors in the compute dtype.

    q, k: [B, H, T, F]; v: [B, H, T, D]; initial_sv: [B, H, E, D+1] (S0 with z0 as its last column).
    Returns (o [B, H, T, D], final_sv [B, H, E, D+1]).

    Within a chunk the causal weights phi(q).phi(k) are formed explicitly (C x C); across chunks
    the sum of phi(k) [v, 1] over earlier chunks is an exclusive cumulative sum of per-chunk
    states. Memory is O(T * E * D / C + T * E): linear in T.
    """
    chunk_size = chunk_size or CHUNK_SIZE  # read at call time (tests shrink it to exercise many chunks)
    batch, heads, seq_len, _ = q.shape
    head_dim = v.shape[-1]
    num_chunks = -(-seq_len // chunk_size)
    pad = num_chunks * chunk_size - seq_len

    valid = torch.ones(batch, seq_len, dtype=torch.bool, device=q.device) if key_padding_mask is None else key_padding_mask
    if pad:  # pad to whole chunks; padded keys are masked out below
        q = torch.nn.functional.pad(q, (0, 0, 0, pad))
        k = torch.nn.functional.pad(k, (0, 0, 0, pad))
        v = torch.nn.functional.pad(v, (0, 0, 0, pad))
        valid = torch.nn.functional.pad(valid, (0, pad), value=False)

    phi_q = taylor_feature_map(q)                                               # [B, H, T', E]
    phi_k = taylor_feature_map(k) * valid[:, None, :, None].to(q.dtype)         # [B, H, T', E]
    v_ones = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)               # [B, H, T', D+1]

    expanded = phi_q.shape[-1]
    phi_q = phi_q.view(batch, heads, num_chunks, chunk_size, expanded)         # [B, H, N, C, E]
    phi_k = phi_k.view(batch, heads, num_chunks, chunk_size, expanded)         # [B, H, N, C, E]
    v_ones = v_ones.view(batch, heads, num_chunks, chunk_size, head_dim + 1)   # [B, H, N, C, D+1]

    chunk_sv = phi_k.transpose(-1, -2) @ v_ones                                # [B, H, N, E, D+1]
    running = torch.cumsum(chunk_sv, dim=2)                                     # inclusive
    before = torch.cat([torch.zeros_like(running[:, :, :1]), running[:, :, :-1]], dim=2)  # exclusive
    if initial_sv is not None:
        before = before + initial_sv.unsqueeze(2)

    causal = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=q.device).tril()
    intra_weights = (phi_q @ phi_k.transpose(-1, -2)).masked_fill(~causal, 0.0)   # [B, H, N, C, C]
    totals = intra_weights @ v_ones + phi_q @ before                                # [B, H, N, C, D+1]
    totals = totals.reshape(batch, heads, num_chunks * chunk_size, head_dim + 1)[:, :, :seq_len]
    out = totals[..., :head_dim] / (totals[..., head_dim:] + eps)                   # [B, H, T, D]

    final_sv = before[:, :, -1] + chunk_sv[:, :, -1]                               # [B, H, E, D+1]
    return out, final_sv


def based_linear_attention_torch(q, k, v, initial_state=None, output_final_state=False,
                                 key_padding_mask=None, eps=1e-12, initial_sv=None):
    """Chunked torch path on the public layout ([B, T, H, *]). `initial_sv` lets PLA add its prefix."""
    dtype = state_dtype(q.dtype)
    head_dim = v.shape[-1]
    q_h, k_h, v_h = (x.transpose(1, 2).to(dtype) for x in (q, k, v))          # [B, H, T, *]
    if initial_state is not None:
        s0, z0 = initial_state
        state0 = torch.cat([s0.to(dtype), z0.to(dtype).unsqueeze(-1)], dim=-1)  # [B, H, E, D+1]
        initial_sv = state0 if initial_sv is None else initial_sv + state0
    out, final_sv = chunked_linear_attention(q_h, k_h, v_h, initial_sv, key_padding_mask, eps)
    state = _prefix_sums_to_state(final_sv, head_dim) if output_final_state else None
    return out.transpose(1, 2).to(v.dtype), state


def based_linear_attention(q, k, v, initial_state=None, output_final_state: bool = False,
                           key_padding_mask=None, eps: float = 1e-12, backend: str | None = None,
                           kernel: str | None = None, schedule: str | None = None):
    """Causal Based linear attention.

    Args:
        q, k: [B, T, H, F]; v: [B, T, H, D] (one floating dtype).
        initial_state: optional (S0 [B, H, E, D], z0 [B, H, E]), E = 1 + F + F*F.
        output_final_state: also return (S, z) after the last token (float32).
        key_padding_mask: optional [B, T] bool, True for real tokens; masked tokens contribute nothing.
        backend: None (triton on CUDA, torch otherwise), "naive", "torch" or "triton".
        kernel: Triton forward kernel, "sym" (symmetric quadratic features, F <= 16) or "full";
            None: jrt.ops.triton._configs.DEFAULT_KERNEL. Ignored by the other backends.
        schedule: Triton schedule, "walk" (one program walks a sequence) or "chunk" (chunk-parallel
            forward and backward); None: by T (_configs.CHUNK_PARALLEL_MAX_T). Ignored by the other backends.
    Returns:
        (o [B, T, H, D] in v's dtype, state or None).
    """
    batch, seq_len, heads, feature_dim, head_dim = check_qkv(q, k, v, "based_linear_attention")
    initial_state = check_state("initial_state", initial_state, batch, heads, feature_dim, head_dim,
                                "based_linear_attention")
    key_padding_mask = check_mask(key_padding_mask, batch, seq_len, "based_linear_attention")
    check_kernel_choice(kernel, schedule, "based_linear_attention")
    backend = pick_backend(backend, q)
    if backend == "naive":
        return naive.based_linear_attention_naive(q, k, v, initial_state, output_final_state, key_padding_mask, eps)
    if backend == "triton":
        from .triton import based_linear_attention_triton
        return based_linear_attention_triton(q, k, v, initial_state, output_final_state, key_padding_mask, eps,
                                             kernel=kernel, schedule=schedule)
    return based_linear_attention_torch(q, k, v, initial_state, output_final_state, key_padding_mask, eps)
