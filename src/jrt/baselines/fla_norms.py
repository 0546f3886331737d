"""flash-linear-attention's RMSNorm modules run in PyTorch, for inference on variable-length batches.

fla 0.6's Triton RMSNorm autotunes with ``NB = ceil(rows / 2048)`` in its key for widths <= 512, and
NB is also a compile-time constant (rows = batch x padded length). Training sees one shape; an
evaluation that batches prompts of different lengths sees a new NB on most batches, and each one
compiles and benchmarks 9 kernel configs per norm variant, which can take most of an evaluation's
time (docs/RESULTS.md, appendix). The gated norm (``FusedRMSNormGated``) buckets by 65,536 rows, fewer but still a handful of shapes.

`use_torch_rms_norms` gives those modules the same arithmetic in PyTorch: float32 inside (as the
kernels compute), residual added before the norm, the residual stream returned in the dtype the
kernel stores it in, the output cast back to the input's dtype. Weights are untouched, so the
model saves and trains as before; only inference-time setup cost goes away.
"""
from __future__ import annotations

import types

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["rms_norm", "use_torch_rms_norms"]


def rms_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float,
             residual: torch.Tensor | None = None, residual_in_fp32: bool = False,
             gate: torch.Tensor | None = None, activation: str = "swish"):
    """(y, residual_out): fla's fused (residual +) RMSNorm (x gate) forward, in PyTorch.

    x, residual, gate: [..., D]; weight, bias: [D] or None.
    residual_out = x + residual (the new residual stream) in residual's dtype, else float32 if
    residual_in_fp32, else x's dtype. y = residual_out / rms * weight + bias, times silu(gate)
    ("swish"/"silu") or sigmoid(gate) ("sigmoid") when a gate is given, in x's dtype.
    """
    h = x.float()
    if residual is not None:
        h = h + residual.float()
    res_dtype = residual.dtype if residual is not None else (torch.float32 if residual_in_fp32 else x.dtype)
    y = F.rms_norm(h, h.shape[-1:], None if weight is None else weight.float(), eps)
    if bias is not None:
        y = y + bias.float()
    if gate is not None:
        g = gate.float()
        if activation in ("swish", "silu"):
            y = y * g * torch.sigmoid(g)
        elif activation == "sigmoid":
            y = y * torch.sigmoid(g)
        else:
            raise ValueError(f"unsupported gate activation {activation!r} (swish, silu, sigmoid)")
    return y.to(x.dtype), h.to(res_dtype)


def _rms_norm_forward(self, x, residual=None, prenorm=False, residual_in_fp32=False):
    y, res = rms_norm(x, self.weight, self.bias, self.eps, residual, residual_in_fp32)
    return (y, res) if prenorm else y


def _gated_rms_norm_forward(self, x, g, residual=None, prenorm=False, residual_in_fp32=False):
    y, res = rms_norm(x, self.weight, self.bias, self.eps, residual, residual_in_fp32, g, self.activation)
    return (y, res) if prenorm else y


def use_torch_rms_norms(model: nn.Module) -> int:
    """Route every fla ``RMSNorm`` / ``FusedRMSNormGated`` in `model` through `rms_norm`; their count.

    0 (and nothing touched) when fla is not installed or the model has none of them. Subclasses
    are matched by exact type, so a norm with other semantics is never swapped by accident.
    """
    try:
        from fla.modules import FusedRMSNormGated, RMSNorm
    except ImportError:
        return 0
    forwards = {RMSNorm: _rms_norm_forward, FusedRMSNormGated: _gated_rms_norm_forward}
    swapped = 0
    for module in model.modules():
        forward = forwards.get(type(module))
        if forward is not None:
            module.forward = types.MethodType(forward, module)
            swapped += 1
    return swapped
