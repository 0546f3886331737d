"""y = x W^T (+ b) for a few rows of x: the linear layers of a decode step, one weight read each.

At decode every linear layer multiplies B rows (one token per sequence, B = 1..16) by an [N, K]
weight, so its time is the time to stream the weight. The profile of jrt-360m's compiled decode step
on an H200 (docs/BENCHMARKS.md) has its 141 cuBLAS GEMMs at 15% of the card's bandwidth at B = 1,
slower than the same GEMMs at B = 16. Here each program owns BLOCK_N output columns for every row:
it streams its [BLOCK_N, K] slice of W once, in BLOCK_K steps, and multiplies it by the rows of x
(padded to 16 rows, tl.dot's minimum) with fp32 accumulation. N / BLOCK_N programs: 64 for a
1024-column weight at BLOCK_N = 16, half of an H200's 132 SMs (a split over K would fill them, at
the price of a second reduction launch; not built). Measured on an H200 (docs/BENCHMARKS.md): the
compiled jrt-360m step falls from 1.45 to 1.13 ms at B = 1 against cuBLAS, and ties at B = 16.
The rows are padded to 16 whatever B is, so the autotune key leaves B out.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from jrt import env

from ._common import INTERPRET


def _configs():
    if INTERPRET:      # the interpreter runs one config
        return [triton.Config({"BLOCK_N": 16, "BLOCK_K": 32}, num_warps=4, num_stages=1)]
    configs = [triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=4, num_stages=s)
               for bn in (16, 32) for bk in (128, 256) for s in (2, 3)]   # 8: every (N, K) tunes in seconds
    mode = env.get("JRT_TRITON_AUTOTUNE")
    if mode == "first":
        return configs[:1]
    if mode == "full":  # deeper pipelines: more weight bytes in flight per SM, for the narrow weights
        configs += [triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=w, num_stages=s)    # that fill
                    for bn in (16, 32) for bk in (256, 512) for w in (4, 8) for s in (3, 4)  # half the SMs
                    if (bk, w, s) != (256, 4, 3)]                               # (in the base set)
    return configs


@triton.autotune(configs=_configs(), key=["N", "K", "HAS_BIAS"])
@triton.jit
def _skinny_linear_kernel(
    x_ptr, w_ptr, b_ptr, y_ptr,               # x [M, K], w [N, K], b [N], y [M, N]; all contiguous
    M, N, K,
    HAS_BIAS: tl.constexpr, IEEE: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    offs_m = tl.arange(0, 16)
    offs_n = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    mm = offs_m < M
    mn = offs_n < N
    acc = tl.zeros((16, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mk = offs_k < K
        x = tl.load(x_ptr + offs_m[:, None] * K + offs_k[None, :], mask=mm[:, None] & mk[None, :], other=0.0)
        w = tl.load(w_ptr + offs_n[:, None].to(tl.int64) * K + offs_k[None, :], mask=mn[:, None] & mk[None, :],
                    other=0.0)
        if IEEE:       # fp32 inputs: exact products, not tf32
            acc += tl.dot(x, tl.trans(w), input_precision="ieee")
        else:          # bf16 / fp16: tensor cores, fp32 accumulation (as cuBLAS)
            acc += tl.dot(x, tl.trans(w))
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_n, mask=mn, other=0.0).to(tl.float32)[None, :]
    tl.store(y_ptr + offs_m[:, None] * N + offs_n[None, :], acc.to(y_ptr.dtype.element_ty),
             mask=mm[:, None] & mn[None, :])


def skinny_linear_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x [M, K] (M <= 16: jrt.ops.skinny_linear.MAX_ROWS), weight [N, K], bias [N] or None, one dtype -> y [M, N] (inputs validated
    by jrt.ops.skinny_linear)."""
    M, K = x.shape
    N = weight.shape[0]
    x, weight = x.contiguous(), weight.contiguous()
    bias = bias.contiguous() if bias is not None else None
    y = torch.empty(M, N, dtype=x.dtype, device=x.device)
    grid = lambda meta: (triton.cdiv(N, meta["BLOCK_N"]),)  # noqa: E731
    _skinny_linear_kernel[grid](x, weight, bias if bias is not None else weight, y, M, N, K,
                                HAS_BIAS=bias is not None, IEEE=x.dtype == torch.float32)
    return y
