"""Causal Based linear attention (and its prefix variant), chunked, in Triton: forward and backward.

Notation (docs/DESIGN.md): phi(x) = [1, x / F^0.25, vec(x x^T) / (sqrt2 sqrtF)], so with
qs = q / F^0.25, ks = k / F^0.25 and a = qs.ks = q.k / sqrtF: phi(q).phi(k) = 1 + a + a^2/2.

The public state is in "phi space": S [E, D], z [E], rows 0 (constant feature), 1..F (linear,
ks), 1+F..E-1 (quadratic, vec(ks ks^T)/sqrt2). The forward kernel holds it in registers (fp32) in
raw form, as three pieces without the feature-map constants (see the kernel's comment and
docs/KERNEL_NOTES.md): A0 = sum m v, A1 = sum m k v^T, A2 = sum m vec(kk^T) v^T (BF*BF rows,
BF = feature block >= 16), z0, z1 = sum m k, Z2 = sum m k k^T; written to HBM only at segment
ends. Features of queries and keys are formed on the fly per chunk; the 273-dim features never
touch HBM. The backward kernels hold the state in phi space (qs, ks scaled on load).

Forward, per chunk of BT tokens (m = key padding mask, 0 for padded positions and t >= T):
  W   = causal(1 + a + a^2/2) * m[s]                             [BT, BT]   (tl.dot q k^T)
  num = W v + A0 + q A1 / sqrtF + vec(qq^T) A2 / 2F               [BT, BD]
  den = rowsum(W) + z0 + q.z1 / sqrtF + q^T Z2 q / 2F             [BT]
  o   = num / (den + eps);   then  A += (features of k)^T (m v),  z likewise
Grid (D blocks, segments, B*H); each program walks its segment's chunks sequentially. With more
than one segment, a first launch (WRITE_OUT=False) writes each segment's local state, a torch
exclusive cumsum turns them into per-segment initial states, and a second launch writes outputs.

Backward (L = sum do.o): with g_t = do_t / den_t and h_t = -(do_t . o_t) / den_t the normalised
output's gradient is that of an unnormalised linear attention with values [v, 1] and output
gradients [g, h]:
  dW[t,s] = g_t.v_s + h_t ;  da = causal(dW (1 + a)) m[s]
  dq = da k / sqrtF + (state part);   dk = da^T q / sqrtF + (state part);   dv = W^T g + (state part)
dq: a forward walk carrying the forward state (segment initial states saved by the forward);
dk, dv: a reverse walk carrying dS = sum_{t later} phi(q_t) g_t^T, dz = sum phi(q_t) h_t.
The D-blocked programs produce partial dq / dk (their terms are linear in the D blocks; the h terms
are added by block 0 only), summed in torch. The reverse walk's final (dS, dz) is the gradient of
the initial state, which PLA uses to give k_enc, v_enc their gradients (PREFIX mode: no intra
part, no state update, one chunk per program).

About 800 lines: the forward and backward kernels share the chunk and state layout above, and
their launchers, autograd function and segment/schedule planning sit next to them so that a layout
change is one edit; the symmetric forward is in based_sym.py, the configs in _configs.py.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from jrt import env

from . import _configs
from ._common import (
    INTERPRET,
    RSQRT2,
    dot_in,
    dot_st,
    feature_block,
    next_pow2,
    precisions,
    quad_rows,
    sm_count,
    value_block,
)

_TL_DTYPE = {torch.float32: tl.float32, torch.float16: tl.float16, torch.bfloat16: tl.bfloat16}

# Chunk lengths BT and value blocks BD are autotuned (the sets, per GPU architecture, are in
# _configs.py); segments are whole multiples of SEG_UNIT tokens, which every BT choice divides.
# The interpreter uses one config (JRT_TRITON_INTERPRET_META=i picks which).
SEG_UNIT = 64
# fp32 inputs (IEEE products, FMA units: the reference-grade path) compile slowly: one fixed config
FP32_FWD = dict(BT=16, BD=32, num_warps=8, num_stages=1)
FP32_BWD = dict(BT=16, num_warps=8, num_stages=1)


def _tl_configs(entries, interpret_meta=None, fixed=()):
    """Triton configs of a set; keys in ``fixed`` are passed by the launcher, so they are dropped."""
    entries = [({k: v for k, v in m.items() if k not in fixed}, w, st) for m, w, st in entries]
    if INTERPRET:
        if interpret_meta is not None:
            return [triton.Config(dict(interpret_meta), num_warps=4, num_stages=1)]
        idx = int(env.get("JRT_TRITON_INTERPRET_META"))
        meta = entries[min(idx, len(entries) - 1)][0]
        return [triton.Config(dict(meta), num_warps=4, num_stages=1)]
    return [triton.Config(dict(m), num_warps=w, num_stages=st) for m, w, st in entries]


# autotuned kernels, built on first use per (name, compute capability): each architecture autotunes
# over its own set (_configs.select); _configs.override() invalidates them
_KERNELS: dict = {}   # name -> (jit function, config family, autotune key, interpreter meta or None, fixed keys)
_TUNED: dict = {}


def register_kernel(name, fn, key, family=None, interpret_meta=None, fixed=()):
    """``fixed``: meta-parameters the launcher passes itself (stripped from the autotune configs)."""
    _KERNELS[name] = (fn, family or name, list(key), interpret_meta, tuple(fixed))


def tuned_kernel(name, device):
    """The autotuned launcher of a registered kernel for the architecture of `device`."""
    cap = _configs.capability(device)
    cache_key = (name, cap, _configs.version())
    if cache_key not in _TUNED:
        fn, family, key, imeta, fixed = _KERNELS[name]
        entries = _configs.select(family, cap)
        _TUNED[cache_key] = triton.autotune(configs=_tl_configs(entries, imeta, fixed), key=key)(fn)
    return _TUNED[cache_key]


BWD_BD_CAP = 32      # backward value block, unless the backward config set names one (_configs)


# ----------------------------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------------------------
@triton.jit
def _based_fwd_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr,           # q, k [B, T, H, F]; v [B, T, H, D]; mask [B, mask_stride] int8
    s_init_ptr, z_init_ptr,                   # [NS, B*H, E, D], [NS, B*H, E] fp32 (per-segment initial state)
    o_ptr, den_ptr,                           # o [B, T, H, D]; den [B, T, H] fp32
    s_out_ptr, z_out_ptr,                     # [NS, B*H, E, D], [NS, B*H, E] fp32 (per-segment final state)
    T, H, SEG_LEN, mask_stride, eps, T_BUCKET,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, HAS_INIT: tl.constexpr, WRITE_OUT: tl.constexpr, STORE_STATE: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
    TRANS_OUT: tl.constexpr = False,
):
    # Registers hold the state in raw form (no feature-map constants), so that the features of
    # q and k enter the products unscaled (the outer products of bf16 inputs round once):
    #   A0 = sum m v           = S[0]
    #   A1 = sum m k v^T       = S[1:1+F]   * F^(1/4)
    #   A2 = sum m vec(kk^T) v^T = S[1+F:]  * sqrt(2F)
    #   z0 = sum m; z1 = sum m k = z[1:1+F] * F^(1/4); Z2 = sum m k k^T = mat(z[1+F:]) * sqrt(2F)
    # read-out: phi(q).S = A0 + q A1 / sqrtF + vec(qq^T) A2 / (2F)   (the same for z)
    pid_d = tl.program_id(0)
    pid_s = tl.program_id(1)
    pid_bh = tl.program_id(2)
    n_bh = tl.num_programs(2)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    C1: tl.constexpr = F ** 0.25
    C2: tl.constexpr = (2.0 * F) ** 0.5
    INV_SQRTF: tl.constexpr = 1.0 / (F ** 0.5)
    INV_2F: tl.constexpr = 0.5 / F
    # operand type of the products with the state: bf16 for bf16 inputs, else fp32 (tf32/ieee)
    CT: tl.constexpr = DT if LOWP else tl.float32

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    e2, mr = quad_rows(F, BF)
    e2m = 1 + F + offs_f[:, None] * F + offs_f[None, :]
    mff = mf[:, None] & mf[None, :]
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    o_base = o_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    st_idx = (pid_s * n_bh + pid_bh).to(tl.int64)

    if HAS_INIT:
        sb = s_init_ptr + st_idx * E * D
        A0 = tl.load(sb + offs_d, mask=md, other=0.0)
        A1 = tl.load(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], mask=mf[:, None] & md[None, :], other=0.0) * C1
        A2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=mr[:, None] & md[None, :], other=0.0) * C2
        zb = z_init_ptr + st_idx * E
        z0 = tl.load(zb + tl.arange(0, 1))
        z1 = tl.load(zb + 1 + offs_f, mask=mf, other=0.0) * C1
        Z2 = tl.load(zb + e2m, mask=mff, other=0.0) * C2
    else:
        A0 = tl.zeros([BD], dtype=tl.float32)
        A1 = tl.zeros([BF, BD], dtype=tl.float32)
        A2 = tl.zeros([BF * BF, BD], dtype=tl.float32)
        z0 = tl.zeros([1], dtype=tl.float32)
        z1 = tl.zeros([BF], dtype=tl.float32)
        Z2 = tl.zeros([BF, BF], dtype=tl.float32)

    seg_start = pid_s * SEG_LEN
    for c in range(0, SEG_LEN, BT):
        offs_t = seg_start + c + offs_c
        mt = offs_t < T
        t64 = offs_t.to(tl.int64)
        k = tl.load(k_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mt[:, None] & mf[None, :], other=0.0)
        v = tl.load(v_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mt[:, None] & md[None, :], other=0.0)
        if HAS_MASK:
            ms = tl.load(mask_ptr + b64 * mask_stride + t64, mask=mt, other=0).to(tl.float32)
        else:
            ms = mt.to(tl.float32)
        vm = (v.to(tl.float32) * ms[:, None]).to(CT)                               # [BT, BD], exact
        km = (k.to(tl.float32) * ms[:, None]).to(CT)                               # [BT, BF], exact
        kc = k.to(CT)

        if WRITE_OUT:
            q = tl.load(q_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mt[:, None] & mf[None, :], other=0.0)
            a = dot_in(q, tl.trans(k), DT, IN_PREC) * INV_SQRTF                    # [BT, BT] = q.k / sqrtF
            w = tl.where(causal, (1.0 + a + 0.5 * a * a) * ms[None, :], 0.0)
            den = tl.sum(w, 1)                                                      # [BT]
            qc = q.to(CT)
            q2 = tl.reshape(qc[:, :, None] * qc[:, None, :], [BT, BF * BF])         # [BT, BF*BF] raw, one rounding
            qf = q.to(tl.float32)
            den += z0 + tl.sum(qf * (z1[None, :] * INV_SQRTF
                                     + tl.dot(qf, Z2, input_precision="ieee") * INV_2F), 1)
            if TRANS_OUT:
                # o^T = A2^T q2^T / 2F + ...: the state is the A operand (registers on Hopper)
                numt = dot_in(tl.trans(v), tl.trans(w), DT, IN_PREC)                # [BD, BT]
                numt += dot_st(tl.trans(A1), tl.trans(qc), LOWP, DT, ST_PREC) * INV_SQRTF
                numt += dot_st(tl.trans(A2), tl.trans(q2), LOWP, DT, ST_PREC) * INV_2F
                numt += A0[:, None]
                ot = numt / (den + eps)[None, :]
                tl.store(o_base + t64[None, :] * (H * D) + offs_d[:, None], ot.to(o_ptr.dtype.element_ty),
                         mask=mt[None, :] & md[:, None])
            else:
                num = dot_in(w, v, DT, IN_PREC)                                     # [BT, BD]
                num += dot_st(qc, A1, LOWP, DT, ST_PREC) * INV_SQRTF
                num += dot_st(q2, A2, LOWP, DT, ST_PREC) * INV_2F
                num += A0[None, :]
                o = num / (den + eps)[:, None]
                tl.store(o_base + t64[:, None] * (H * D) + offs_d[None, :], o.to(o_ptr.dtype.element_ty),
                         mask=mt[:, None] & md[None, :])
            tl.store(den_base + t64 * H, den + eps, mask=offs_t < T * (pid_d == 0).to(tl.int32))  # den + eps, as used

        k2 = tl.reshape(kc[:, :, None] * kc[:, None, :], [BT, BF * BF])             # [BT, BF*BF] raw
        A0 += tl.sum(vm.to(tl.float32), 0)
        A1 += dot_st(tl.trans(kc), vm, LOWP, DT, ST_PREC)
        A2 += dot_st(tl.trans(k2), vm, LOWP, DT, ST_PREC)
        z0 += tl.sum(ms, 0)
        z1 += tl.sum(km.to(tl.float32), 0)
        Z2 += tl.dot(tl.trans(km.to(tl.float32)), k.to(tl.float32), input_precision="ieee")

    if STORE_STATE:
        sb = s_out_ptr + st_idx * E * D
        tl.store(sb + offs_d, A0, mask=md)
        tl.store(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], A1 * (1.0 / C1), mask=mf[:, None] & md[None, :])
        tl.store(sb + e2[:, None] * D + offs_d[None, :], A2 * (1.0 / C2), mask=mr[:, None] & md[None, :])
        zb = z_out_ptr + st_idx * E
        tl.store(zb + tl.arange(0, 1), z0, mask=tl.arange(0, 1) < (pid_d == 0).to(tl.int32))
        tl.store(zb + 1 + offs_f, z1 * (1.0 / C1), mask=offs_f < F * (pid_d == 0).to(tl.int32))
        tl.store(zb + e2m, Z2 * (1.0 / C2), mask=(offs_f[:, None] < F * (pid_d == 0).to(tl.int32)) & mf[None, :])


# ----------------------------------------------------------------------------------------------
# backward: dq (forward walk)
# ----------------------------------------------------------------------------------------------
@triton.jit
def _based_bwd_dq_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr, s_init_ptr, z_init_ptr,
    do_ptr, den_ptr, hh_ptr,                  # do [B, T, H, D]; den, hh [B, T, H] fp32
    dq_ptr,                                   # [nD, B, T, H, F] fp32 partial sums
    T, H, SEG_LEN, mask_stride, T_BUCKET,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, HAS_INIT: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
):
    pid_d = tl.program_id(0)
    pid_s = tl.program_id(1)
    pid_bh = tl.program_id(2)
    n_bh = tl.num_programs(2)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    SCALE1: tl.constexpr = 1.0 / (F ** 0.25)
    SCALE2: tl.constexpr = 1.0 / (F ** 0.5)
    blk0 = (pid_d == 0).to(tl.float32)

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    e2, mr = quad_rows(F, BF)
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    do_base = do_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    hh_base = hh_ptr + b64 * T * H + h
    dq_base = dq_ptr + pid_d.to(tl.int64) * n_bh * T * F + (b64 * T * H + h) * F
    st_idx = (pid_s * n_bh + pid_bh).to(tl.int64)

    if HAS_INIT:
        sb = s_init_ptr + st_idx * E * D
        S0 = tl.load(sb + offs_d, mask=md, other=0.0)
        S1 = tl.load(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], mask=mf[:, None] & md[None, :], other=0.0)
        S2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=mr[:, None] & md[None, :], other=0.0)
        zb = z_init_ptr + st_idx * E
        z1 = tl.load(zb + 1 + offs_f, mask=mf, other=0.0)
        z2 = tl.load(zb + e2, mask=mr, other=0.0)
    else:
        S0 = tl.zeros([BD], dtype=tl.float32)
        S1 = tl.zeros([BF, BD], dtype=tl.float32)
        S2 = tl.zeros([BF * BF, BD], dtype=tl.float32)
        z1 = tl.zeros([BF], dtype=tl.float32)
        z2 = tl.zeros([BF * BF], dtype=tl.float32)

    seg_start = pid_s * SEG_LEN
    for c in range(0, SEG_LEN, BT):
        offs_t = seg_start + c + offs_c
        mt = offs_t < T
        t64 = offs_t.to(tl.int64)
        mtf = mt[:, None] & mf[None, :]
        mtd = mt[:, None] & md[None, :]
        q = tl.load(q_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mtf, other=0.0)
        k = tl.load(k_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mtf, other=0.0)
        v = tl.load(v_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mtd, other=0.0)
        do = tl.load(do_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mtd, other=0.0)
        den = tl.load(den_base + t64 * H, mask=mt, other=1.0)
        hh = tl.load(hh_base + t64 * H, mask=mt, other=0.0) * blk0
        if HAS_MASK:
            ms = tl.load(mask_ptr + b64 * mask_stride + t64, mask=mt, other=0).to(tl.float32)
        else:
            ms = mt.to(tl.float32)
        g = do.to(tl.float32) / (den[:, None] + 0.0)                               # [BT, BD]

        # intra-chunk
        a = dot_in(q, tl.trans(k), DT, IN_PREC) * SCALE2                           # [BT, BT]
        dw = dot_in(g, tl.trans(v), DT, IN_PREC) + hh[:, None]
        da = tl.where(causal, dw * (1.0 + a) * ms[None, :], 0.0)
        dq = dot_in(da, k, DT, IN_PREC) * SCALE2                                   # [BT, BF]

        # from the state of earlier chunks
        qf = q.to(tl.float32) * SCALE1
        c1 = dot_st(g, tl.trans(S1), LOWP, DT, ST_PREC) + hh[:, None] * z1[None, :]   # [BT, BF]
        u = dot_st(g, tl.trans(S2), LOWP, DT, ST_PREC) + hh[:, None] * z2[None, :]    # [BT, BF*BF]
        u3 = tl.reshape(u, [BT, BF, BF])
        quad = tl.sum(u3 * qf[:, None, :], 2) + tl.sum(u3 * qf[:, :, None], 1)          # [BT, BF]
        dq += (c1 + quad * RSQRT2) * SCALE1
        tl.store(dq_base + t64[:, None] * (H * F) + offs_f[None, :], dq, mask=mtf)

        # state update (as in the forward)
        kf = k.to(tl.float32) * SCALE1
        k2 = tl.reshape(kf[:, :, None] * kf[:, None, :], [BT, BF * BF]) * RSQRT2
        vm = v.to(tl.float32) * ms[:, None]
        S0 += tl.sum(vm, 0)
        S1 += dot_st(tl.trans(kf), vm, LOWP, DT, ST_PREC)
        S2 += dot_st(tl.trans(k2), vm, LOWP, DT, ST_PREC)
        z1 += tl.sum(kf * ms[:, None], 0)
        z2 += tl.sum(k2 * ms[:, None], 0)


# ----------------------------------------------------------------------------------------------
# backward: dk, dv (reverse walk); PREFIX mode for k_enc, v_enc
# ----------------------------------------------------------------------------------------------
@triton.jit
def _based_bwd_dkdv_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr,
    ds_init_ptr, dz_init_ptr,                 # [B*H, E, D], [B*H, E] fp32 (PREFIX mode: the total dS, dz),
                                              # or [NS, B*H, E, D], [NS, B*H, E] (DS_INIT: per segment)
    do_ptr, den_ptr, hh_ptr,
    dk_ptr, dv_ptr,                           # dk [nD, B, T, H, F] fp32 partials; dv [B, T, H, D]
    ds_out_ptr, dz_out_ptr,                   # [B*H, E, D], [B*H, E] fp32: dS, dz after the walk
    T, H, SEG_LEN, mask_stride, T_BUCKET,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, INTRA: tl.constexpr, STORE_STATE: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
    DS_INIT: tl.constexpr = False,
):
    # INTRA and DS_INIT: segment-parallel reverse walk; each segment starts from the dS, dz of the
    # queries of all later segments (ds_init[pid_s]), computed in parallel by the caller.
    pid_d = tl.program_id(0)
    pid_s = tl.program_id(1)
    pid_bh = tl.program_id(2)
    n_bh = tl.num_programs(2)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    SCALE1: tl.constexpr = 1.0 / (F ** 0.25)
    SCALE2: tl.constexpr = 1.0 / (F ** 0.5)
    blk0 = (pid_d == 0).to(tl.float32)

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    e2, mr = quad_rows(F, BF)
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    do_base = do_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    hh_base = hh_ptr + b64 * T * H + h
    dk_base = dk_ptr + pid_d.to(tl.int64) * n_bh * T * F + (b64 * T * H + h) * F
    dv_base = dv_ptr + (b64 * T * H + h) * D
    st_idx = pid_bh.to(tl.int64)
    if DS_INIT:
        st_idx = (pid_s * n_bh + pid_bh).to(tl.int64)

    if INTRA and not DS_INIT:
        dS0 = tl.zeros([BD], dtype=tl.float32)
        dS1 = tl.zeros([BF, BD], dtype=tl.float32)
        dS2 = tl.zeros([BF * BF, BD], dtype=tl.float32)
        dz0 = tl.zeros([1], dtype=tl.float32)
        dz1 = tl.zeros([BF], dtype=tl.float32)
        dz2 = tl.zeros([BF * BF], dtype=tl.float32)
    else:
        sb = ds_init_ptr + st_idx * E * D
        dS0 = tl.load(sb + offs_d, mask=md, other=0.0)
        dS1 = tl.load(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], mask=mf[:, None] & md[None, :], other=0.0)
        dS2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=mr[:, None] & md[None, :], other=0.0)
        zb = dz_init_ptr + st_idx * E
        dz0 = tl.load(zb + tl.arange(0, 1))
        dz1 = tl.load(zb + 1 + offs_f, mask=mf, other=0.0)
        dz2 = tl.load(zb + e2, mask=mr, other=0.0)

    n_iter = SEG_LEN // BT
    for i in range(0, n_iter):
        t0 = pid_s * SEG_LEN + (n_iter - 1 - i) * BT
        offs_t = t0 + offs_c
        mt = offs_t < T
        t64 = offs_t.to(tl.int64)
        mtf = mt[:, None] & mf[None, :]
        mtd = mt[:, None] & md[None, :]
        k = tl.load(k_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mtf, other=0.0)
        v = tl.load(v_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mtd, other=0.0)
        if HAS_MASK:
            ms = tl.load(mask_ptr + b64 * mask_stride + t64, mask=mt, other=0).to(tl.float32)
        else:
            ms = mt.to(tl.float32)
        kf = k.to(tl.float32) * SCALE1
        k2 = tl.reshape(kf[:, :, None] * kf[:, None, :], [BT, BF * BF]) * RSQRT2

        # from the queries of later chunks (state dS, dz)
        dv = dot_st(kf, dS1, LOWP, DT, ST_PREC) + dot_st(k2, dS2, LOWP, DT, ST_PREC) + dS0[None, :]   # [BT, BD]
        c1 = dot_st(v, tl.trans(dS1), LOWP, DT, ST_PREC) + blk0 * dz1[None, :]                       # [BT, BF]
        u = dot_st(v, tl.trans(dS2), LOWP, DT, ST_PREC) + blk0 * dz2[None, :]                        # [BT, BF*BF]
        u3 = tl.reshape(u, [BT, BF, BF])
        quad = tl.sum(u3 * kf[:, None, :], 2) + tl.sum(u3 * kf[:, :, None], 1)
        dk = (c1 + quad * RSQRT2) * SCALE1                                                            # [BT, BF]

        if INTRA:
            q = tl.load(q_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mtf, other=0.0)
            do = tl.load(do_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mtd, other=0.0)
            den = tl.load(den_base + t64 * H, mask=mt, other=1.0)
            hh = tl.load(hh_base + t64 * H, mask=mt, other=0.0)
            g = do.to(tl.float32) / den[:, None]                                   # [BT, BD]
            a = dot_in(q, tl.trans(k), DT, IN_PREC) * SCALE2                       # [BT(t), BT(s)]
            w = tl.where(causal, 1.0 + a + 0.5 * a * a, 0.0)
            dv += dot_in(tl.trans(w), g, DT, IN_PREC)
            dw = dot_in(g, tl.trans(v), DT, IN_PREC) + (hh * blk0)[:, None]
            da = tl.where(causal, dw * (1.0 + a), 0.0)
            dk += dot_in(tl.trans(da), q, DT, IN_PREC) * SCALE2

        dk = dk * ms[:, None]
        dv = dv * ms[:, None]
        tl.store(dk_base + t64[:, None] * (H * F) + offs_f[None, :], dk, mask=mtf)
        tl.store(dv_base + t64[:, None] * (H * D) + offs_d[None, :], dv.to(dv_ptr.dtype.element_ty), mask=mtd)

        if INTRA:
            qf = q.to(tl.float32) * SCALE1
            q2 = tl.reshape(qf[:, :, None] * qf[:, None, :], [BT, BF * BF]) * RSQRT2
            dS0 += tl.sum(g, 0)
            dS1 += dot_st(tl.trans(qf), g, LOWP, DT, ST_PREC)
            dS2 += dot_st(tl.trans(q2), g, LOWP, DT, ST_PREC)
            dz0 += tl.sum(hh, 0)
            dz1 += tl.sum(qf * hh[:, None], 0)
            dz2 += tl.sum(q2 * hh[:, None], 0)

    if STORE_STATE:
        sb = ds_out_ptr + st_idx * E * D
        tl.store(sb + offs_d, dS0, mask=md)
        tl.store(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], dS1, mask=mf[:, None] & md[None, :])
        tl.store(sb + e2[:, None] * D + offs_d[None, :], dS2, mask=mr[:, None] & md[None, :])
        zb = dz_out_ptr + st_idx * E
        tl.store(zb + tl.arange(0, 1), dz0, mask=tl.arange(0, 1) < (pid_d == 0).to(tl.int32))
        tl.store(zb + 1 + offs_f, dz1, mask=offs_f < F * (pid_d == 0).to(tl.int32))
        tl.store(zb + e2, dz2, mask=mr & (e2 < E * (pid_d == 0).to(tl.int32)))  # block 0 only


# ----------------------------------------------------------------------------------------------
# launchers
# ----------------------------------------------------------------------------------------------
_KEY = ["T_BUCKET", "F", "D", "HAS_MASK", "HAS_INIT", "LOWP", "DT"]
register_kernel("fwd", _based_fwd_kernel, _KEY + ["WRITE_OUT", "STORE_STATE"])
register_kernel("dq", _based_bwd_dq_kernel, _KEY, family="bwd", fixed=("BD",))
register_kernel("dkdv", _based_bwd_dkdv_kernel,
                ["T_BUCKET", "F", "D", "HAS_MASK", "LOWP", "DT", "INTRA", "STORE_STATE", "DS_INIT"], family="bwd",
                fixed=("BD",))


def _launch(name, plain, fixed, grid, like, *args, **kwargs):
    """Autotuned launch for 16-bit inputs (and under the interpreter); one fixed config for fp32."""
    if like.dtype == torch.float32 and not INTERPRET:
        plain[grid](*args, **kwargs, **fixed)
    else:
        tuned_kernel(name, like.device)[grid](*args, **kwargs)


def _num_segments(batch_heads: int, n_dblk: int, n_chunks: int, device) -> int:
    """Split T into segments when B*H*(D blocks) programs cannot fill the GPU."""
    forced = env.get("JRT_TRITON_SEGMENTS")
    if forced:
        return max(1, min(int(forced), n_chunks))
    programs = batch_heads * n_dblk
    target = sm_count(device)
    if programs >= target:
        return 1
    return max(1, min(n_chunks, -(-2 * target // programs)))


KERNELS = ("sym", "full")
SCHEDULES = ("walk", "chunk")


def plan(T: int, batch_heads: int, F: int, D: int, device, kernel: str | None = None,
         schedule: str | None = None) -> tuple[str, str, int]:
    """(forward kernel, schedule, segment length) for one call; None picks the defaults of _configs.

    kernel: "sym" (the symmetric forward, F <= 16) or "full"; the default falls back to "full" for
        F > 16, and for a walk split into segments (B*H too small to fill the GPU): the symmetric
        forward is faster where B*H fills the GPU and slower on segmented walks (B = 1 and 4 at
        T = 16k on an H200, docs/BENCHMARKS.md). The backward kernels are the same for both.
    schedule: "walk" (one program per (value block, b, h) walks the sequence; T is split into
        segments only when those programs cannot fill the GPU) or "chunk" (chunk-parallel: segments
        of CHUNK_PARALLEL_SEG tokens, their states computed in parallel and prefix-summed, forward
        and backward). Default: "chunk" for T <= CHUNK_PARALLEL_MAX_T, else "walk".
    """
    explicit = kernel is not None
    kernel = _configs.DEFAULT_KERNEL if kernel is None else kernel
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS} or None, got {kernel!r}")
    if kernel == "sym" and F > 16:
        if explicit:
            raise ValueError(f"kernel='sym' supports feature dims F <= 16, got F={F}")
        kernel = "full"
    if schedule is None:  # a forced segment count (JRT_TRITON_SEGMENTS, tuning) applies to the walk
        chunk = T <= _configs.CHUNK_PARALLEL_MAX_T and not env.get("JRT_TRITON_SEGMENTS")
        schedule = "chunk" if chunk else "walk"
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES} or None, got {schedule!r}")
    n_chunks = triton.cdiv(T, SEG_UNIT)
    if schedule == "chunk":
        seg_len = triton.cdiv(_configs.CHUNK_PARALLEL_SEG, SEG_UNIT) * SEG_UNIT
    else:
        ns = _num_segments(batch_heads, triton.cdiv(D, 64), n_chunks, device)  # D blocks: BD is autotuned
        seg_len = triton.cdiv(n_chunks, ns) * SEG_UNIT
        if ns > 1 and not explicit:
            kernel = "full"
    return kernel, schedule, min(seg_len, n_chunks * SEG_UNIT)


def _fwd_grid(D, ns, bh):
    return lambda meta: (triton.cdiv(D, meta["BD"]), ns, bh)


def _fwd(grid, like, *args, **kwargs):
    _launch("fwd", _based_fwd_kernel, FP32_FWD, grid, like, *args, **kwargs)


def _mask_arg(mask: torch.Tensor | None, like: torch.Tensor):
    if mask is None:
        return like, 0, False  # dummy pointer, never read
    m = mask.to(torch.int8).contiguous()
    return m, m.stride(0), True


def _state_pass(k, v, mask, out_dtype_like):
    """Sum over all positions of phi(k) (m v)^T and phi(k) m, non-causally: (S [B*H,E,D], z [B*H,E]) fp32.

    k [B, T, H, F], v [B, T, H, D] contiguous. Used for the PLA prefix state.
    """
    B, T, H, F = k.shape
    n_chunks = triton.cdiv(T, SEG_UNIT)
    ns = _num_segments(B * H, triton.cdiv(v.shape[-1], 64), n_chunks, k.device)  # D blocks: BD is autotuned
    s_seg, z_seg = segment_states(k, v, mask, triton.cdiv(n_chunks, ns) * SEG_UNIT)
    return s_seg.sum(0), z_seg.sum(0)


def segment_states(k, v, mask, seg_len: int):
    """Each segment's own sum of phi(k) (m v)^T and phi(k) m (from a zero state), in phi space:
    (S [NS, B*H, E, D], z [NS, B*H, E]) fp32 with NS = ceil(T / seg_len); seg_len a multiple of SEG_UNIT.

    k [B, T, H, F], v [B, T, H, D] contiguous; mask [B, T] bool or None. The state-only launch of the
    forward kernel (WRITE_OUT=False), one program per (D block, segment, b*h).
    """
    if seg_len <= 0 or seg_len % SEG_UNIT:
        raise ValueError(f"segment_states: seg_len must be a positive multiple of {SEG_UNIT}, got {seg_len}")
    B, T, H, F = k.shape
    D = v.shape[-1]
    E = 1 + F + F * F
    ns = triton.cdiv(T, seg_len)
    s_out = torch.empty(ns, B * H, E, D, device=k.device, dtype=torch.float32)
    z_out = torch.empty(ns, B * H, E, device=k.device, dtype=torch.float32)
    m, m_stride, has_mask = _mask_arg(mask, k)
    lowp, in_prec, st_prec = precisions(k.dtype)
    _fwd(_fwd_grid(D, ns, B * H), k,
        k, k, v, m, s_out, z_out, v, s_out, s_out, z_out,
        T, H, seg_len, m_stride, 0.0, next_pow2(T),
        F=F, D=D, E=E, BF=feature_block(F),
        HAS_MASK=has_mask, HAS_INIT=False, WRITE_OUT=False, STORE_STATE=True,
        LOWP=lowp, DT=_TL_DTYPE[k.dtype], IN_PREC=in_prec, ST_PREC=st_prec,
    )
    return s_out, z_out


def _forward(q, k, v, mask, init_s, init_z, eps, want_state, kernel="full", seg_len=None):
    """q, k [B,T,H,F], v [B,T,H,D] contiguous; init_s [B*H,E,D] / init_z [B*H,E] fp32 or None.

    kernel: "full" (this module's kernel) or "sym" (based_sym); seg_len: tokens per segment (a
    multiple of SEG_UNIT; None: the walk schedule's choice, see plan()).
    Returns o, den (+eps) [B,T,H] fp32, seg_init (s, z) per segment or None, final (s, z) or None, seg_len.
    """
    B, T, H, F = q.shape
    D = v.shape[-1]
    E = 1 + F + F * F
    if seg_len is None:
        seg_len = plan(T, B * H, F, D, q.device, kernel, "walk")[2]
    if kernel == "sym":
        from .based_sym import sym_forward
        return sym_forward(q, k, v, mask, init_s, init_z, eps, want_state, seg_len)
    BF = feature_block(F)
    ns = triton.cdiv(T, seg_len)
    m, m_stride, has_mask = _mask_arg(mask, q)
    lowp, in_prec, st_prec = precisions(q.dtype)
    consts = dict(F=F, D=D, E=E, BF=BF, HAS_MASK=has_mask,
                  LOWP=lowp, DT=_TL_DTYPE[q.dtype], IN_PREC=in_prec, ST_PREC=st_prec)
    grid = _fwd_grid(D, ns, B * H)
    o = torch.empty_like(v)
    den = torch.empty(B, T, H, device=q.device, dtype=torch.float32)
    final = None
    if ns == 1:
        seg = None if init_s is None else (init_s.unsqueeze(0), init_z.unsqueeze(0))
        if want_state:
            s_out = torch.empty(1, B * H, E, D, device=q.device, dtype=torch.float32)
            z_out = torch.empty(1, B * H, E, device=q.device, dtype=torch.float32)
        else:
            s_out, z_out = den, den
        _fwd(grid, q,
            q, k, v, m, seg[0] if seg else den, seg[1] if seg else den, o, den, s_out, z_out,
            T, H, seg_len, m_stride, eps, next_pow2(T),
            HAS_INIT=seg is not None, WRITE_OUT=True, STORE_STATE=want_state, **consts)
        if want_state:
            final = (s_out[0], z_out[0])
        return o, den, seg, final, seg_len
    # pass 1: each segment's local state
    s_loc = torch.empty(ns, B * H, E, D, device=q.device, dtype=torch.float32)
    z_loc = torch.empty(ns, B * H, E, device=q.device, dtype=torch.float32)
    _fwd(grid, q,
        q, k, v, m, s_loc, z_loc, o, den, s_loc, z_loc,
        T, H, seg_len, m_stride, eps, next_pow2(T),
        HAS_INIT=False, WRITE_OUT=False, STORE_STATE=True, **consts)
    # exclusive prefix over segments (+ the initial state)
    s_seg = torch.cumsum(s_loc, 0) - s_loc
    z_seg = torch.cumsum(z_loc, 0) - z_loc
    if init_s is not None:
        s_seg += init_s.unsqueeze(0)
        z_seg += init_z.unsqueeze(0)
    if want_state:
        final = (s_seg[-1] + s_loc[-1], z_seg[-1] + z_loc[-1])
    del s_loc, z_loc
    # pass 2: outputs
    _fwd(grid, q,
        q, k, v, m, s_seg, z_seg, o, den, s_seg, z_seg,
        T, H, seg_len, m_stride, eps, next_pow2(T),
        HAS_INIT=True, WRITE_OUT=True, STORE_STATE=False, **consts)
    return o, den, (s_seg, z_seg), final, seg_len


def _segment_query_z(q, hh, seg_len):
    """Per segment, sum_t h_t phi(q_t) in phi space: [NS, B*H, E] fp32 (a few small torch products:
    [F, L] x [L, F] per segment and head)."""
    B, T, H, F = q.shape
    ns = triton.cdiv(T, seg_len)
    pad = ns * seg_len - T
    qs = q.float() * F ** -0.25
    h = hh
    if pad:
        qs = torch.nn.functional.pad(qs, (0, 0, 0, 0, 0, pad))
        h = torch.nn.functional.pad(h, (0, 0, 0, pad))
    qs = qs.view(B, ns, seg_len, H, F)
    h = h.view(B, ns, seg_len, H)
    qh = qs * h.unsqueeze(-1)
    z0 = h.sum(2).unsqueeze(-1)                                                  # [B, NS, H, 1]
    z1 = qh.sum(2)                                                               # [B, NS, H, F]
    z2 = torch.einsum("bnlhf,bnlhg->bnhfg", qh, qs).reshape(B, ns, H, F * F) * RSQRT2.value
    z = torch.cat([z0, z1, z2], dim=-1)                                          # [B, NS, H, E]
    return z.permute(1, 0, 2, 3).reshape(ns, B * H, 1 + F + F * F)


def _reverse_exclusive(x):
    """y[j] = sum_{i > j} x[i] over dim 0, and the total sum."""
    rev = torch.flip(torch.cumsum(torch.flip(x, [0]), 0), [0])                 # inclusive, from the end
    after = torch.zeros_like(rev)
    after[:-1] = rev[1:]
    return after, rev[0]


def _later_segments(q, g, hh, seg_len):
    """Per segment j, the sum over the queries of the segments after j of phi(q_t) g_t^T and
    phi(q_t) h_t: (dS [NS, B*H, E, D], dz [NS, B*H, E]), and the sums over all segments (the gradient
    of the initial state). Each segment's own dS is the state-only launch of the forward kernel with
    keys q and values g (fully parallel); its dz is a small torch product; reverse prefix sums chain them."""
    s_loc, _ = segment_states(q, g, None, seg_len)                              # [NS, B*H, E, D]
    ds_seg, ds = _reverse_exclusive(s_loc)
    del s_loc
    dz_seg, dz = _reverse_exclusive(_segment_query_z(q, hh, seg_len))
    return ds_seg, dz_seg, ds.contiguous(), dz.contiguous()


def _backward(q, k, v, mask, seg, seg_len, o, den, do, k_enc, v_enc, enc_mask, eps):
    B, T, H, F = q.shape
    D = v.shape[-1]
    E = 1 + F + F * F
    BF, BD = feature_block(F), value_block(D, _configs.backward_value_block(_configs.capability(q.device),
                                                                          BWD_BD_CAP))
    n_d = triton.cdiv(D, BD)
    ns = triton.cdiv(T, seg_len)
    do = do.contiguous()
    # den holds den + eps. Where den is only eps (every visible key masked, no initial state), o = 0
    # for any q and the exact gradient through that position is 0: use g = h = 0 there instead of
    # do / eps (which overflows fp16 operands and gives 0 * inf = NaN).
    den = torch.where(den > eps, den, torch.full_like(den, float("inf")))
    hh = -(do.float() * o.float()).sum(-1) / den                                  # [B, T, H]
    m, m_stride, has_mask = _mask_arg(mask, q)
    lowp, in_prec, st_prec = precisions(q.dtype)
    consts = dict(F=F, D=D, E=E, BF=BF, BD=BD, HAS_MASK=has_mask,
                  LOWP=lowp, DT=_TL_DTYPE[q.dtype], IN_PREC=in_prec, ST_PREC=st_prec)

    # dq: a forward walk per segment from the segment initial states the forward saved
    dq_part = torch.empty(n_d, B, T, H, F, device=q.device, dtype=torch.float32)
    _launch("dq", _based_bwd_dq_kernel, FP32_BWD, (n_d, ns, B * H), q,
        q, k, v, m, seg[0] if seg else den, seg[1] if seg else den, do, den, hh, dq_part,
        T, H, seg_len, m_stride, next_pow2(T), HAS_INIT=seg is not None, **consts)

    # dk, dv: a reverse walk; per segment (from the later segments' dS, dz) when the forward was segmented
    dk_part = torch.empty(n_d, B, T, H, F, device=q.device, dtype=torch.float32)
    dv = torch.empty_like(v)
    with_prefix = k_enc is not None and k_enc.shape[1] > 0
    if ns > 1:
        ds_seg, dz_seg, ds, dz = _later_segments(q, (do.float() / den.unsqueeze(-1)).contiguous(), hh, seg_len)
        _launch("dkdv", _based_bwd_dkdv_kernel, FP32_BWD, (n_d, ns, B * H), q,
            q, k, v, m, ds_seg, dz_seg, do, den, hh, dk_part, dv, den, den,
            T, H, seg_len, m_stride, next_pow2(T),
            INTRA=True, STORE_STATE=False, DS_INIT=True, **consts)
        del ds_seg, dz_seg
    else:
        if with_prefix:
            ds = torch.empty(B * H, E, D, device=q.device, dtype=torch.float32)
            dz = torch.empty(B * H, E, device=q.device, dtype=torch.float32)
        else:
            ds, dz = den, den
        _launch("dkdv", _based_bwd_dkdv_kernel, FP32_BWD, (n_d, 1, B * H), q,
            q, k, v, m, den, den, do, den, hh, dk_part, dv, ds, dz,
            T, H, triton.cdiv(T, SEG_UNIT) * SEG_UNIT, m_stride, next_pow2(T),
            INTRA=True, STORE_STATE=with_prefix, **consts)
    dq = dq_part.sum(0).to(q.dtype)
    dk = dk_part.sum(0).to(k.dtype)

    dk_enc = dv_enc = None
    if k_enc is not None:
        P = k_enc.shape[1]
        if P == 0:
            dk_enc, dv_enc = torch.zeros_like(k_enc), torch.zeros_like(v_enc)
        else:
            me, me_stride, has_me = _mask_arg(enc_mask, k_enc)
            dk_enc_part = torch.empty(n_d, B, P, H, F, device=q.device, dtype=torch.float32)
            dv_enc = torch.empty_like(v_enc)
            consts["HAS_MASK"] = has_me
            _launch("dkdv", _based_bwd_dkdv_kernel, FP32_BWD, (n_d, triton.cdiv(P, SEG_UNIT), B * H), q,
                k_enc, k_enc, v_enc, me, ds, dz, v_enc, den, hh, dk_enc_part, dv_enc, ds, dz,
                P, H, SEG_UNIT, me_stride, next_pow2(P),
                INTRA=False, STORE_STATE=False, **consts)
            dk_enc = dk_enc_part.sum(0).to(k_enc.dtype)
    return dq, dk, dv, dk_enc, dv_enc


class BasedChunkFunction(torch.autograd.Function):
    """(q, k, v[, k_enc, v_enc]) -> o, with (S, z) final state as non-differentiable outputs.

    kernel / schedule: see plan(); the backward follows the forward's segmentation."""

    @staticmethod
    def forward(ctx, q, k, v, k_enc, v_enc, mask, init_s, init_z, eps, want_state, enc_mask=None,
                kernel=None, schedule=None):
        B, T, H, F = q.shape
        D = v.shape[-1]
        E = 1 + F + F * F
        kernel, schedule, seg_len = plan(T, B * H, F, D, q.device, kernel, schedule)
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        if mask is not None:
            mask = mask.contiguous()
        if init_s is not None:
            init_s = init_s.float().reshape(B * H, E, D).contiguous()
            init_z = init_z.float().reshape(B * H, E).contiguous()
        if k_enc is not None:
            k_enc, v_enc = k_enc.contiguous(), v_enc.contiguous()
            P = k_enc.shape[1]
            if enc_mask is not None:
                enc_mask = enc_mask.contiguous()
            if P > 0:
                ps, pz = _state_pass(k_enc, v_enc, enc_mask, v)
                if init_s is None:
                    init_s, init_z = ps, pz
                else:
                    init_s, init_z = init_s + ps, init_z + pz
        o, den, seg, final, seg_len = _forward(q, k, v, mask, init_s, init_z, eps, want_state, kernel, seg_len)
        ctx.save_for_backward(q, k, v, k_enc, v_enc, mask, enc_mask, o, den,
                              *(seg if seg is not None else (None, None)))
        ctx.seg_len = seg_len
        ctx.eps = eps
        if final is not None:
            s, z = final
            state = (s.reshape(B, H, E, D), z.reshape(B, H, E))
            ctx.mark_non_differentiable(*state)
            return o, state[0], state[1]
        return o, None, None

    @staticmethod
    def backward(ctx, do, _ds, _dz):
        q, k, v, k_enc, v_enc, mask, enc_mask, o, den, seg_s, seg_z = ctx.saved_tensors
        seg = None if seg_s is None else (seg_s, seg_z)
        dq, dk, dv, dk_enc, dv_enc = _backward(q, k, v, mask, seg, ctx.seg_len, o, den, do,
                                               k_enc, v_enc, enc_mask, ctx.eps)
        return dq, dk, dv, dk_enc, dv_enc, None, None, None, None, None, None, None, None


def based_linear_attention_triton(q, k, v, initial_state=None, output_final_state=False,
                                  key_padding_mask=None, eps=1e-12, kernel=None, schedule=None):
    """Causal Based linear attention. q, k [B, T, H, F]; v [B, T, H, D] -> (o [B, T, H, D], state or None).

    kernel: "sym" | "full" | None (_configs.DEFAULT_KERNEL); schedule: "walk" | "chunk" | None (by T)."""
    init_s, init_z = (None, None) if initial_state is None else initial_state
    o, s, z = BasedChunkFunction.apply(q, k, v, None, None, key_padding_mask, init_s, init_z,
                                       float(eps), bool(output_final_state), None, kernel, schedule)
    return o, ((s, z) if output_final_state else None)
