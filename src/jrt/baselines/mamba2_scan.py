"""Hugging Face Mamba2's chunk scan (SSD) through flash-linear-attention's gated-linear-attention kernel.

Why: `transformers.Mamba2ForCausalLM` has fast paths only through the compiled `mamba_ssm` and
`causal_conv1d` packages; without them every forward (training and prefill) runs the pure-torch
chunked SSD, several times slower. The SSD recurrence of Mamba2 is exactly scalar-gated linear
attention, for each head h:

    S_t = exp(dt_t * A_h) S_{t-1} + (dt_t x_t) B_t^T        S: [head_dim, state_size]
    y_t = S_t C_t + D_h x_t

which is scalar-gated ("simple") GLA with q = C, k = B, v = dt * x, g = dt * A (log decay), scale 1 and
the state stored value-first (the [head_dim, state_size] layout HF's cache uses). It runs as fla's
`chunk_gla` with the head's gate repeated over the key dimension: fla 0.6's `chunk_simple_gla`
refuses to run its backward on Hopper with Triton < 3.7.1 (a Triton miscompile, fla issue #640), and
GLA's chunk kernels have their own backward that is not affected. Only the scan is
replaced: the model, its weights, its checkpoints and its cached decode step stay plain HF, so a model
trained with the kernel loads and generates anywhere transformers runs.

    from jrt.baselines.mamba2_scan import install
    install()          # True when fla imports; CPU tensors still take HF's torch scan

Opt-in: `jrt train` and `jrt eval` call `maybe_install()`, which installs it only when
`JRT_MAMBA2_SCAN=fla` is set (tests/baselines/test_mamba2_scan.py checks logits, gradients and
cached generation against HF's scan on a GPU). fla autotunes its GLA kernels on first use, which
takes minutes on a cold Triton cache.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch.nn.functional as F

from jrt import env

__all__ = ["install", "maybe_install", "uninstall", "installed", "ssd_scan_via_gla", "fla_scan_kernel"]

_HF_SCAN: Callable | None = None  # transformers' own mamba2_chunk_scan, saved on install


def _hf_module():
    import transformers.models.mamba2.modeling_mamba2 as hf_mamba2

    return hf_mamba2


@functools.cache  # looked up by every Mamba2 layer on every forward: import and build once
def fla_scan_kernel() -> Callable | None:
    """Scalar-gated GLA through fla's `chunk_gla`, or None where flash-linear-attention does not import.

    Same contract as fla's `chunk_simple_gla`: q, k [b, t, h, n], v [b, t, h, p], g [b, t, h].
    """
    try:
        from fla.ops.gla import chunk_gla
    except Exception:  # noqa: BLE001  (ImportError, or fla failing its own device checks)
        return None

    def simple_gla_via_chunk_gla(q, k, v, g, scale=None, initial_state=None, output_final_state=False,
                                 state_v_first=False):
        gk = g[..., None].expand(*g.shape, k.shape[-1]).contiguous()  # one gate per key dim, all equal
        return chunk_gla(q, k, v, gk, scale=scale, initial_state=initial_state,
                         output_final_state=output_final_state, state_v_first=state_v_first)

    return simple_gla_via_chunk_gla


def ssd_scan_via_gla(hidden_states, dt, A, B, C, chunk_size: int, D=None, dt_bias=None,
                     initial_states=None, dt_softplus: bool = False,
                     dt_limit: tuple[float, float] = (0.0, float("inf")),
                     return_final_states: bool = False, kernel: Callable | None = None, **_):
    """Drop-in for transformers' `mamba2_chunk_scan`, computed by a simple-GLA `kernel`.

    hidden_states [b, t, h, p], dt [b, t, h], A [h] (negative), B/C [b, t, g, n], D [h],
    initial_states [b, h, p, n]. Returns y [b, t, h, p] (and the final state [b, h, p, n]).
    `chunk_size` is HF's SSD chunk; the kernel chooses its own (the result does not depend on it).
    `kernel(q, k, v, g, scale=, initial_state=, output_final_state=, state_v_first=True)` is
    `fla_scan_kernel()` by default; tests pass a float64 recurrence to check this mapping on CPU.
    """
    kernel = kernel or fla_scan_kernel()
    if kernel is None:
        raise ImportError("ssd_scan_via_gla needs flash-linear-attention (pip install flash-linear-attention)")
    num_heads = hidden_states.shape[2]
    groups = B.shape[2]
    dt = dt.float()
    if dt_bias is not None:
        dt = dt + dt_bias.float()
    if dt_softplus:
        dt = F.softplus(dt)
    dt = dt.clamp(min=dt_limit[0], max=dt_limit[1])
    # B and C are shared by the heads of a group: expand them to one per head
    k = B.repeat_interleave(num_heads // groups, dim=2)
    q = C.repeat_interleave(num_heads // groups, dim=2)
    dtype = hidden_states.dtype  # bf16 under autocast: the kernel accumulates in fp32 either way
    v = (hidden_states.float() * dt[..., None]).to(dtype)
    g = A.float()[None, None, :] * dt  # [b, t, h], log of the per-step decay, <= 0
    h0 = None if initial_states is None else initial_states.float()
    y, final = kernel(q.to(dtype), k.to(dtype), v, g, scale=1.0, initial_state=h0,
                      output_final_state=return_final_states, state_v_first=True)
    if D is not None:
        y = y.float() + D.float()[:, None] * hidden_states.float()
    if return_final_states:
        return y, final
    return y


def _scan(hidden_states, *args, **kwargs):
    """The installed scan: fla on CUDA tensors, HF's torch scan elsewhere."""
    if hidden_states.is_cuda:
        return ssd_scan_via_gla(hidden_states, *args, **kwargs)
    return _HF_SCAN(hidden_states, *args, **kwargs)


def install() -> bool:
    """Route HF Mamba2's chunk scan through fla (CUDA tensors only). True if installed."""
    global _HF_SCAN
    if fla_scan_kernel() is None:
        return False
    hf = _hf_module()
    if _HF_SCAN is None:
        _HF_SCAN = hf.mamba2_chunk_scan
    hf.mamba2_chunk_scan = _scan  # Mamba2Mixer.forward looks the name up at call time
    return True


def maybe_install() -> str:
    """Install when ``JRT_MAMBA2_SCAN=fla``; returns the scan HF Mamba2 will use on CUDA, for logs."""
    choice = env.get("JRT_MAMBA2_SCAN")
    if choice not in ("torch", "fla"):
        raise ValueError(f"JRT_MAMBA2_SCAN must be 'torch' or 'fla', got {choice!r}")
    if choice == "fla":
        if not install():
            raise ImportError("JRT_MAMBA2_SCAN=fla needs flash-linear-attention (pip install flash-linear-attention)")
        return "fla chunk_gla (CUDA tensors)"
    return "transformers torch"


def uninstall() -> None:
    global _HF_SCAN
    if _HF_SCAN is not None:
        _hf_module().mamba2_chunk_scan = _HF_SCAN
        _HF_SCAN = None


def installed() -> bool:
    return _HF_SCAN is not None and _hf_module().mamba2_chunk_scan is _scan
