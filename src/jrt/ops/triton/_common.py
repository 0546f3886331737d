"""Shared helpers of the Triton kernels: interpreter detection, autotune configs, block sizes."""
from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl

from jrt import env

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"

RSQRT2 = tl.constexpr(1.0 / math.sqrt(2.0))  # globals read by kernels must be constexpr
SQRT2 = tl.constexpr(math.sqrt(2.0))


def configs(warps=(4, 8), stages=(1, 2), metas=({},), interpret_meta=None):
    """Autotune configs; a single one under TRITON_INTERPRET=1 (the interpreter fails with several).

    metas: the constexpr choices tuned over (e.g. chunk lengths); interpret_meta: the one used by
    the interpreter (default: the first of metas; JRT_TRITON_INTERPRET_META=i picks metas[i], to
    exercise the other chunk lengths on CPU).
    """
    if INTERPRET:
        idx = int(env.get("JRT_TRITON_INTERPRET_META"))
        meta = interpret_meta if interpret_meta is not None else metas[min(idx, len(metas) - 1)]
        return [triton.Config(dict(meta), num_warps=4, num_stages=1)]
    return [triton.Config(dict(m), num_warps=w, num_stages=s) for m in metas for w in warps for s in stages]


def next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


def feature_block(f: int) -> int:
    """Padded feature dim: tl.dot needs every dimension >= 16."""
    return max(16, next_pow2(f))


def value_block(d: int, cap: int) -> int:
    return max(16, min(cap, next_pow2(d)))


def precisions(dtype: torch.dtype):
    """(LOWP_STATE, IN_PREC, ST_PREC) for an input dtype.

    bf16: every tensor-core product in bf16 (the fp32 states are rounded to bf16 for the product,
          accumulation stays fp32).
    fp16: intra-chunk products in fp16; products with the states in tf32 (fp16's range is too small
          for states summed over 32k tokens).
    fp32: everything in IEEE fp32 (the reference-grade path; slow on tensor cores).
    """
    if dtype == torch.bfloat16:
        return True, "ieee", "ieee"
    if dtype == torch.float16:
        return False, "ieee", ("ieee" if INTERPRET else "tf32")
    return False, "ieee", "ieee"


_SM_COUNT: dict = {}


def sm_count(device: torch.device) -> int:
    if device.type != "cuda":
        return 8
    idx = device.index if device.index is not None else torch.cuda.current_device()
    if idx not in _SM_COUNT:
        _SM_COUNT[idx] = torch.cuda.get_device_properties(idx).multi_processor_count
    return _SM_COUNT[idx]


@triton.jit
def quad_rows(F: tl.constexpr, BF: tl.constexpr):
    """The quadratic block of the features, flattened: entry r = i * BF + j (i, j < BF) is the pair
    (i, j), whose phi-space row is 1 + F + i F + j. Returns (those rows [BF*BF], valid mask: i, j < F)."""
    offs_r = tl.arange(0, BF * BF)
    ri = offs_r // BF
    rj = offs_r % BF
    return 1 + F + ri * F + rj, (ri < F) & (rj < F)


@triton.jit
def dot_st(a, b, LOWP: tl.constexpr, DT: tl.constexpr, PREC: tl.constexpr):
    """A product with a state operand: bf16 operands when LOWP, else fp32 operands at PREC."""
    if LOWP:
        out = tl.dot(a.to(DT), b.to(DT))
    else:
        out = tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision=PREC)
    return out


@triton.jit
def dot_in(a, b, DT: tl.constexpr, PREC: tl.constexpr):
    """A product of input-dtype operands (intra-chunk), fp32 accumulation (PREC only for fp32 inputs)."""
    if DT == tl.float32:
        out = tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision=PREC)
    else:
        out = tl.dot(a.to(DT), b.to(DT))
    return out
