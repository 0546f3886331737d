"""Input validation shared by the ops: every bad input becomes a ValueError naming the argument."""
from __future__ import annotations

import torch

from jrt import env

from .feature_map import taylor_feature_dim

BACKENDS = ("naive", "torch", "triton")
KERNELS = ("sym", "full")          # Triton forward kernels (jrt.ops.triton.based_chunk.plan)
SCHEDULES = ("walk", "chunk")      # Triton schedules


def _shape(t: torch.Tensor) -> tuple:
    return tuple(t.shape)


def check_tensor(name: str, t, rank: int) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != rank:
        raise ValueError(f"{name} must have rank {rank}, got shape {_shape(t)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")


def check_qkv(q, k, v, op: str) -> tuple[int, int, int, int, int]:
    """Checks q, k [B, T, H, F] and v [B, T, H, D]; returns (B, T, H, F, D)."""
    check_tensor("q", q, 4)
    check_tensor("k", k, 4)
    check_tensor("v", v, 4)
    if q.shape != k.shape:
        raise ValueError(f"{op}: q and k must have the same shape [B, T, H, F], got q {_shape(q)} and k {_shape(k)}")
    if v.shape[:3] != q.shape[:3]:
        raise ValueError(f"{op}: v must be [B, T, H, D] with B, T, H of q {_shape(q)}, got v {_shape(v)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"{op}: q, k, v must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"{op}: q, k, v must be on one device, got {q.device}, {k.device}, {v.device}")
    batch, seq_len, heads, feature_dim = q.shape
    if seq_len == 0:
        raise ValueError(f"{op}: the sequence is empty (q has shape {_shape(q)})")
    return batch, seq_len, heads, feature_dim, v.shape[-1]


def check_state(name: str, state, batch: int, heads: int, feature_dim: int, head_dim: int, op: str):
    """A state is (S [B, H, E, D], z [B, H, E]) with E = 1 + F + F*F."""
    if state is None:
        return None
    if not (isinstance(state, (tuple, list)) and len(state) == 2):
        raise ValueError(f"{op}: {name} must be a tuple (S [B,H,E,D], z [B,H,E]), got {type(state).__name__}")
    s, z = state
    expanded = taylor_feature_dim(feature_dim)
    check_tensor(f"{name}[0] (S)", s, 4)
    check_tensor(f"{name}[1] (z)", z, 3)
    if _shape(s) != (batch, heads, expanded, head_dim):
        raise ValueError(f"{op}: {name}[0] (S) must have shape {(batch, heads, expanded, head_dim)}, got {_shape(s)}")
    if _shape(z) != (batch, heads, expanded):
        raise ValueError(f"{op}: {name}[1] (z) must have shape {(batch, heads, expanded)}, got {_shape(z)}")
    return s, z


def check_mask(mask, batch: int, seq_len: int, op: str, name: str = "key_padding_mask", dims: str = "[B, T]"):
    """A [B, T] mask, True (or 1) for positions that count (key_padding_mask: real tokens). Returned as bool."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"{op}: {name} must be a torch.Tensor, got {type(mask).__name__}")
    if _shape(mask) != (batch, seq_len):
        raise ValueError(f"{op}: {name} must have shape {dims} = {(batch, seq_len)}, got {_shape(mask)}")
    if mask.dtype != torch.bool:
        if mask.is_floating_point() or not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"{op}: {name} must be bool (True = counts) or 0/1 integers, got {mask.dtype}")
        mask = mask.bool()
    return mask


def check_prefix(k_enc, v_enc, batch, seq_len, heads, feature_dim, head_dim, dtype, op: str) -> int:
    """k_enc [B, P, H, F], v_enc [B, P, H, D] with P <= T; returns P."""
    check_tensor("k_enc", k_enc, 4)
    check_tensor("v_enc", v_enc, 4)
    prefix_len = k_enc.shape[1]
    if _shape(k_enc) != (batch, prefix_len, heads, feature_dim):
        raise ValueError(f"{op}: k_enc must be [B, P, H, F] = [{batch}, P, {heads}, {feature_dim}], got {_shape(k_enc)}")
    if _shape(v_enc) != (batch, prefix_len, heads, head_dim):
        raise ValueError(f"{op}: v_enc must be [B, P, H, D] = [{batch}, {prefix_len}, {heads}, {head_dim}], got {_shape(v_enc)}")
    if prefix_len > seq_len:
        raise ValueError(f"{op}: the prefix length P={prefix_len} (k_enc {_shape(k_enc)}) exceeds T={seq_len}")
    if k_enc.dtype != dtype or v_enc.dtype != dtype:
        raise ValueError(f"{op}: k_enc and v_enc must have the dtype of q ({dtype}), got {k_enc.dtype}, {v_enc.dtype}")
    return prefix_len


def pick_backend(backend, q: torch.Tensor) -> str:
    """None: $JRT_OPS_BACKEND if set, else triton for CUDA tensors and the chunked torch path otherwise."""
    if backend is None:
        backend = env.get("JRT_OPS_BACKEND")
    if backend is None:
        if q.is_cuda:
            try:
                import triton  # noqa: F401
                return "triton"
            except ImportError:
                return "torch"
        return "torch"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    return backend


def state_dtype(dtype: torch.dtype) -> torch.dtype:
    """States and accumulation are float32, or float64 for float64 inputs (never less precise)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_kernel_choice(kernel, schedule, op: str) -> None:
    """kernel in KERNELS or None, schedule in SCHEDULES or None (checked for every backend)."""
    if kernel is not None and kernel not in KERNELS:
        raise ValueError(f"{op}: kernel must be one of {KERNELS} or None, got {kernel!r}")
    if schedule is not None and schedule not in SCHEDULES:
        raise ValueError(f"{op}: schedule must be one of {SCHEDULES} or None, got {schedule!r}")
