"""Linear layer for a few rows (a decode step): x W^T + b through one weight-streaming Triton kernel.

`skinny_linear(x, weight, bias)` equals `torch.nn.functional.linear` for inputs of at most 16 rows
(all leading dimensions together). The Triton kernel (ops/triton/skinny_linear.py) runs for CUDA
tensors (and under TRITON_INTERPRET=1 on CPU, for the tests); anywhere else it is F.linear. It is
registered as the custom op ``jrt::skinny_linear`` so torch.compile keeps it as one call (Inductor
does not trace into it) and a CUDA graph captures it like any kernel. Forward only: decode runs
without autograd.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_ROWS = 16          # rows padded to 16 in the kernel's product: more rows are a GEMM's job


def _kernel_available(x: torch.Tensor) -> bool:
    if x.is_cuda:
        return True
    from .triton._common import INTERPRET  # CPU tensors reach the kernel only in the interpreter
    return INTERPRET


@torch.library.custom_op("jrt::skinny_linear", mutates_args=())
def _skinny_linear_op(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    from .triton.skinny_linear import skinny_linear_triton
    return skinny_linear_triton(x, weight, bias)


@_skinny_linear_op.register_fake
def _(x, weight, bias):
    return x.new_empty(x.shape[0], weight.shape[0])


def _refusal(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> str | None:
    """Why skinny_linear cannot take these inputs, or None when it can."""
    if x.dim() < 1 or weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        return f"x [..., K] and weight [N, K] needed, got x {tuple(x.shape)}, weight {tuple(weight.shape)}"
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        return f"bias must be [N] = [{weight.shape[0]}], got {tuple(bias.shape)}"
    if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
        return (f"x, weight and bias must share a dtype, got {x.dtype}, {weight.dtype}"
                + (f", {bias.dtype}" if bias is not None else ""))
    rows = x.numel() // max(x.shape[-1], 1)
    if rows > MAX_ROWS:
        return f"at most {MAX_ROWS} rows, got {rows} (use torch.nn.functional.linear)"
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias)):
        return "forward only (decode); call it under torch.no_grad()"
    return None


def _uses_kernel(x: torch.Tensor) -> bool:
    """Accepted inputs go to the kernel unless it cannot run here, or they are float64 or empty."""
    return _kernel_available(x) and x.dtype != torch.float64 and x.numel() > 0


def skinny_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x [..., K] with at most 16 rows in all, weight [N, K], bias [N] or None -> [..., N].

    Raises ValueError for more rows (a GEMM's job: use F.linear), mismatched shapes or dtypes, and
    inputs that require grad (no backward)."""
    refusal = _refusal(x, weight, bias)
    if refusal is not None:
        raise ValueError(f"skinny_linear: {refusal}")
    if not _uses_kernel(x):
        return F.linear(x, weight, bias)
    rows = x.numel() // x.shape[-1]
    y = _skinny_linear_op(x.reshape(rows, x.shape[-1]), weight, bias)
    return y.reshape(*x.shape[:-1], weight.shape[0])


class SkinnyLinearMode(torch.overrides.TorchFunctionMode):
    """Inside ``with SkinnyLinearMode():`` every torch.nn.functional.linear call (nn.Linear's forward)
    with at most 16 rows runs skinny_linear; larger ones stay F.linear. The model's modules and
    weights are untouched, so a decode step switches over without the layers knowing (RecurrentDecoder
    does so for a compiled bf16 step on CUDA, or with ``skinny_linear=True``); torch.compile traces
    through the mode."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            x = args[0] if args else kwargs["input"]
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            if _routable(x, weight, bias):
                return skinny_linear(x, weight, bias)
        return func(*args, **kwargs)


def _routable(x, weight, bias) -> bool:
    """What SkinnyLinearMode sends to the kernel: what skinny_linear accepts and runs on the kernel,
    outside autocast (which would change F.linear's output dtype); anything else stays F.linear."""
    return (_refusal(x, weight, bias) is None and _uses_kernel(x)
            and not torch.is_autocast_enabled(x.device.type))
