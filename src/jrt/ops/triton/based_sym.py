"""The symmetric causal Based forward: the quadratic Taylor features counted once per unordered pair.

The forward of Based, PLA and JRT-Prompt when kernel="sym" (the default, _configs.DEFAULT_KERNEL):
based_chunk.BasedChunkFunction calls `sym_forward`, which returns what the full kernel's forward
returns (outputs, den + eps per position, per-segment initial states), so the backward kernels of
based_chunk serve both. `based_fwd_sym` is the same forward without autograd (tests, benchmarks).

The quadratic part of phi(q).phi(k) is vec(qq^T).vec(kk^T) = (q.k)^2, and vec(kk^T) has only
F(F+1)/2 distinct entries. Split the features into a low half L = [0, FL) and a high half
H = [FL, F) (FL = ceil(F/2); 8 + 8 for F = 16):

    vec(qq^T).vec(kk^T) = (qL x qL).(kL x kL) + 2 (qL x qH).(kL x kH) + (qH x qH).(kH x kH)

since the (H, L) block equals the (L, H) block transposed. The forward of based_chunk.py holds
A2 = sum_t m_t vec(k_t k_t^T) v_t^T as one [BF*BF = 256, BD] fp32 register block; here it is three
[HB*HB = 64, BD] blocks (HB = 8)

    A_LL = sum m (kL x kL) v^T,   A_LH = sum m (kL x kH) v^T,   A_HH = sum m (kH x kH) v^T

(192 rows instead of 256: 25% fewer state registers and state FLOPs), read out as

    vec(qq^T) A2 = (qL x qL) A_LL + (2 qL x qH) A_LH + (qH x qH) A_HH

(the 2 is folded into the query's cross features: exact in every dtype). Everything else is as in
based_chunk._based_fwd_kernel: the state is raw (no feature-map constants), A0, A1, z0, z1 and the
16x16 normaliser matrix Z2 = sum m k k^T are kept as there (Z2 is 256 scalars and a 16x16 product;
splitting it would save nothing, and keeping it whole keeps a non-symmetric initial z exact).

Public state in phi space, exactly the layout of based_chunk (S [B, H, E, D], z [B, H, E] fp32,
E = 1 + F + F^2, quadratic row 1 + F + i F + j = A2[i, j] / sqrt(2F)). At load, the (L, H) block
takes the symmetric part (S[i, j] + S[j, i]) / 2 of a given initial state (only that part reaches
the output: phi(q) is symmetric); at store, the antisymmetric part of the initial state is added
back, so the returned state is S0 + (sum of phi(k) v^T) exactly, as the naive reference returns it.

The kernel walks a whole sequence per program, grid (D / BD, B*H); when B*H is too small to fill
the GPU, or under the chunk-parallel schedule, the launcher first splits T into segments and runs
them as extra batch rows (`sym_forward`). TRANS_OUT computes o^T = A^T phi(q)^T so that the state is the A operand of the
read-out product (the fastest variant of the original kernel on the H100). STATE_T (implies the
transposed read-out) goes one step further: the state blocks are held transposed, [BD, rows], and
updated as A^T += (m v)^T k2, so the update's fp32 accumulator is the read-out's A operand without
a transpose (the pattern of flash attention's P V: accumulator -> bf16 -> registers operand).

F: any 1 <= F <= 16 (the halves are padded to HB = 8 and masked); D: any (value blocks masked).
About 450 lines, most of them the one kernel and the derivation above.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import INTERPRET, dot_in, feature_block, next_pow2, precisions
from .based_chunk import _TL_DTYPE, SEG_UNIT, _mask_arg, _num_segments, register_kernel, segment_states, tuned_kernel

HB = 8          # half-feature block: rows of one quadratic block = HB * HB = 64
MAX_F = 2 * HB

# GPU autotune sets: jrt.ops.triton._configs ("sym"; per architecture, JRT_TRITON_SYM_CONFIGS overrides).
# fp32 inputs (IEEE products on FMA units, test-grade): one fixed config, as in based_chunk
SYM_FP32 = dict(BT=16, BD=32, num_warps=8, num_stages=1)
# the interpreter runs one config (small BT so that short test sequences span several chunks)
SYM_INTERPRET = {"BT": 16, "BD": 32}


@triton.jit
def _rnd(x, LOWP: tl.constexpr, DT: tl.constexpr, EMU: tl.constexpr):
    """x as an operand of a product with the state: DT (bf16) when LOWP, else fp32.

    EMU (the interpreter with bf16 inputs, whose bf16 arithmetic and tl.dot work on the raw uint16
    bits): the values rounded to DT but held in fp32, so every product below runs in fp32 on the
    same rounded operands (exact products, fp32 accumulation: what the tensor cores compute).
    """
    if LOWP:
        if EMU:
            out = x.to(tl.float32).to(DT).to(tl.float32)
        else:
            out = x.to(DT)
    else:
        out = x.to(tl.float32)
    return out


@triton.jit
def _mma(a, b, acc, LOWP: tl.constexpr, DT: tl.constexpr, PREC: tl.constexpr, EMU: tl.constexpr):
    """acc + a @ b (fp32 accumulator) with state-product operands (_common.dot_st's precision)."""
    if LOWP and not EMU:
        out = tl.dot(a.to(DT), b.to(DT), acc)
    else:
        out = tl.dot(_rnd(a, LOWP, DT, EMU), _rnd(b, LOWP, DT, EMU), acc, input_precision=PREC)
    return out


@triton.jit
def _mm_in(a, b, DT: tl.constexpr, PREC: tl.constexpr, EMU: tl.constexpr):
    """a @ b with input-dtype operands (intra-chunk), fp32 accumulation: _common.dot_in, or its emulation."""
    if EMU:
        out = tl.dot(a.to(tl.float32).to(DT).to(tl.float32), b.to(tl.float32).to(DT).to(tl.float32),
                     input_precision="ieee")
    else:
        out = dot_in(a, b, DT, PREC)
    return out


@triton.jit
def _read_t(A, x, acc, STATE_T: tl.constexpr, LOWP: tl.constexpr, DT: tl.constexpr, PREC: tl.constexpr,
            EMU: tl.constexpr):
    """acc + A^T x^T [BD, BT] (transposed read-out) for a state block A [rows, BD], held as A^T if STATE_T."""
    if STATE_T:
        out = _mma(A, tl.trans(x), acc, LOWP, DT, PREC, EMU)
    else:
        out = _mma(tl.trans(A), tl.trans(x), acc, LOWP, DT, PREC, EMU)
    return out


@triton.jit
def _update(A, x, vm, STATE_T: tl.constexpr, LOWP: tl.constexpr, DT: tl.constexpr, PREC: tl.constexpr,
            EMU: tl.constexpr):
    """A + x^T vm (x [BT, rows] features, vm [BT, BD] masked values), or its transpose if STATE_T."""
    if STATE_T:
        out = _mma(tl.trans(vm), x, A, LOWP, DT, PREC, EMU)
    else:
        out = _mma(tl.trans(x), vm, A, LOWP, DT, PREC, EMU)
    return out


@triton.jit
def _outer(x, y, BT: tl.constexpr, NB: tl.constexpr):
    """[BT, NB], [BT, NB] -> [BT, NB*NB]: row t is vec(x_t y_t^T) (index i * NB + j = x_i y_j)."""
    return tl.reshape(x[:, :, None] * y[:, None, :], [BT, NB * NB])


@triton.jit
def _load_rows(base, rows, row_ok, offs_d, md, D: tl.constexpr):
    return tl.load(base + rows[:, None] * D + offs_d[None, :], mask=row_ok[:, None] & md[None, :], other=0.0)


@triton.jit
def _store_rows(base, rows, row_ok, offs_d, md, x, D: tl.constexpr):
    tl.store(base + rows[:, None] * D + offs_d[None, :], x, mask=row_ok[:, None] & md[None, :])


@triton.jit
def _based_sym_fwd_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr,           # q, k [B, T, H, F]; v [B, T, H, D]; mask [B, mask_stride] int8
    s_init_ptr, z_init_ptr,                   # [B*H, E, D], [B*H, E] fp32 (phi space)
    o_ptr, den_ptr,                           # o [B, T, H, D]; den [B, T, H] fp32 (den + eps, for the backward)
    s_out_ptr, z_out_ptr,                     # [B*H, E, D], [B*H, E] fp32 (phi space)
    T, H, mask_stride, eps, T_BUCKET, NSEG,   # NSEG: segments per sequence when rows are segments (else 1)
    F: tl.constexpr, FL: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, HB: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, HAS_INIT: tl.constexpr, STORE_STATE: tl.constexpr, STORE_DEN: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
    TRANS_OUT: tl.constexpr = False, STATE_T: tl.constexpr = False, EMU: tl.constexpr = False,
):
    # raw register state (phi space = raw / constant):
    #   A0 = sum m v = S[0];  A1 = sum m k v^T = S[1:1+F] * F^(1/4)
    #   ALL, ALH, AHH = sum m (kL x kL | kL x kH | kH x kH) v^T = quadratic rows of S * sqrt(2F)
    #   z0 = sum m;  z1 = sum m k;  Z2 = sum m k k^T  (same constants)
    pid_d = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    FH: tl.constexpr = F - FL
    C1: tl.constexpr = F ** 0.25
    C2: tl.constexpr = (2.0 * F) ** 0.5
    INV_SQRTF: tl.constexpr = 1.0 / (F ** 0.5)
    INV_2F: tl.constexpr = 0.5 / F

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_h = tl.arange(0, HB)
    mL = offs_h < FL
    mH = offs_h < FH
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    # quadratic blocks: row r = i * HB + j; phi-space row of feature pair (a, b) is 1 + F + a F + b
    offs_r = tl.arange(0, HB * HB)
    ri = offs_r // HB
    rj = offs_r % HB
    eLL = 1 + F + ri * F + rj
    eLH = 1 + F + ri * F + (FL + rj)           # pair (i, FL + j) ...
    eHL = 1 + F + (FL + rj) * F + ri           # ... and its mirror (FL + j, i)
    eHH = 1 + F + (FL + ri) * F + (FL + rj)
    mLL = (ri < FL) & (rj < FL)
    mLH = (ri < FL) & (rj < FH)
    mHH = (ri < FH) & (rj < FH)
    e2m = 1 + F + offs_f[:, None] * F + offs_f[None, :]
    mff = mf[:, None] & mf[None, :]
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    o_base = o_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    # state index: rows are (batch, segment) pairs b * NSEG + j when segmented; the initial states
    # are laid out [NSEG, B*H] (segment-major, as the backward reads them): no transposed copy
    n_bh = tl.num_programs(1)
    st64 = ((pid_bh // H) % NSEG * (n_bh // NSEG) + (pid_bh // H) // NSEG * H + h).to(tl.int64)

    if HAS_INIT:
        sb = s_init_ptr + st64 * E * D
        A0 = tl.load(sb + offs_d, mask=md, other=0.0)
        A1 = _load_rows(sb, 1 + offs_f, mf, offs_d, md, D) * C1
        ALL = _load_rows(sb, eLL, mLL, offs_d, md, D) * C2
        ALH = (_load_rows(sb, eLH, mLH, offs_d, md, D) + _load_rows(sb, eHL, mLH, offs_d, md, D)) * (0.5 * C2)
        AHH = _load_rows(sb, eHH, mHH, offs_d, md, D) * C2
        zb = z_init_ptr + st64 * E
        z0 = tl.load(zb + tl.arange(0, 1))
        z1 = tl.load(zb + 1 + offs_f, mask=mf, other=0.0) * C1
        Z2 = tl.load(zb + e2m, mask=mff, other=0.0) * C2
    else:
        A0 = tl.zeros([BD], dtype=tl.float32)
        A1 = tl.zeros([BF, BD], dtype=tl.float32)
        ALL = tl.zeros([HB * HB, BD], dtype=tl.float32)
        ALH = tl.zeros([HB * HB, BD], dtype=tl.float32)
        AHH = tl.zeros([HB * HB, BD], dtype=tl.float32)
        z0 = tl.zeros([1], dtype=tl.float32)
        z1 = tl.zeros([BF], dtype=tl.float32)
        Z2 = tl.zeros([BF, BF], dtype=tl.float32)
    if STATE_T:  # held transposed, [BD, rows]: the update's accumulator is the read-out's A operand as is
        A1 = tl.trans(A1)
        ALL = tl.trans(ALL)
        ALH = tl.trans(ALH)
        AHH = tl.trans(AHH)

    for c in range(0, T, BT):
        offs_t = c + offs_c
        mt = offs_t < T
        t64 = offs_t.to(tl.int64)
        row_f = t64[:, None] * (H * F)
        k = tl.load(k_base + row_f + offs_f[None, :], mask=mt[:, None] & mf[None, :], other=0.0)
        kL = tl.load(k_base + row_f + offs_h[None, :], mask=mt[:, None] & mL[None, :], other=0.0)
        kH = tl.load(k_base + row_f + FL + offs_h[None, :], mask=mt[:, None] & mH[None, :], other=0.0)
        v = tl.load(v_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mt[:, None] & md[None, :], other=0.0)
        q = tl.load(q_base + row_f + offs_f[None, :], mask=mt[:, None] & mf[None, :], other=0.0)
        qL = tl.load(q_base + row_f + offs_h[None, :], mask=mt[:, None] & mL[None, :], other=0.0)
        qH = tl.load(q_base + row_f + FL + offs_h[None, :], mask=mt[:, None] & mH[None, :], other=0.0)
        if HAS_MASK:
            ms = tl.load(mask_ptr + b64 * mask_stride + t64, mask=mt, other=0).to(tl.float32)
        else:
            ms = mt.to(tl.float32)
        vm = _rnd(v.to(tl.float32) * ms[:, None], LOWP, DT, EMU)                   # [BT, BD], exact
        kf = k.to(tl.float32)
        qf = q.to(tl.float32)
        qc = _rnd(q, LOWP, DT, EMU)
        qL = _rnd(qL, LOWP, DT, EMU)
        qH = _rnd(qH, LOWP, DT, EMU)

        # ---- outputs
        a = _mm_in(q, tl.trans(k), DT, IN_PREC, EMU) * INV_SQRTF                        # [BT, BT] = q.k / sqrtF
        w = tl.where(causal, (1.0 + a + 0.5 * a * a) * ms[None, :], 0.0)
        den = tl.sum(w, 1) + z0 + tl.sum(qf * (z1[None, :] * INV_SQRTF
                                               + tl.dot(qf, Z2, input_precision="ieee") * INV_2F), 1)
        qLL = _rnd(_outer(qL, qL, BT, HB), LOWP, DT, EMU)                          # [BT, 64] raw
        qLH = _rnd(_outer(qL, qH * 2.0, BT, HB), LOWP, DT, EMU)                    # x2: the (H, L) block
        qHH = _rnd(_outer(qH, qH, BT, HB), LOWP, DT, EMU)
        if TRANS_OUT or STATE_T:
            # o^T = A^T phi(q)^T: the state blocks are the A operands of the read-out
            quad = tl.zeros([BD, BT], dtype=tl.float32)
            quad = _read_t(ALL, qLL, quad, STATE_T, LOWP, DT, ST_PREC, EMU)
            quad = _read_t(ALH, qLH, quad, STATE_T, LOWP, DT, ST_PREC, EMU)
            quad = _read_t(AHH, qHH, quad, STATE_T, LOWP, DT, ST_PREC, EMU)
            lin = _read_t(A1, qc, tl.zeros([BD, BT], dtype=tl.float32), STATE_T, LOWP, DT, ST_PREC, EMU)
            numt = _mm_in(tl.trans(v), tl.trans(w), DT, IN_PREC, EMU)               # [BD, BT]
            numt += lin * INV_SQRTF
            numt += quad * INV_2F + A0[:, None]
            ot = numt / (den + eps)[None, :]
            tl.store(o_base + t64[None, :] * (H * D) + offs_d[:, None], ot.to(o_ptr.dtype.element_ty),
                     mask=mt[None, :] & md[:, None])
            if STORE_DEN:
                tl.store(den_base + t64 * H, den + eps, mask=offs_t < T * (pid_d == 0).to(tl.int32))
        else:
            quad = tl.zeros([BT, BD], dtype=tl.float32)
            quad = _mma(qLL, ALL, quad, LOWP, DT, ST_PREC, EMU)
            quad = _mma(qLH, ALH, quad, LOWP, DT, ST_PREC, EMU)
            quad = _mma(qHH, AHH, quad, LOWP, DT, ST_PREC, EMU)
            lin = _mma(qc, A1, tl.zeros([BT, BD], dtype=tl.float32), LOWP, DT, ST_PREC, EMU)
            num = _mm_in(w, v, DT, IN_PREC, EMU)                                    # [BT, BD]
            num += lin * INV_SQRTF
            num += quad * INV_2F + A0[None, :]
            o = num / (den + eps)[:, None]
            tl.store(o_base + t64[:, None] * (H * D) + offs_d[None, :], o.to(o_ptr.dtype.element_ty),
                     mask=mt[:, None] & md[None, :])
            if STORE_DEN:
                tl.store(den_base + t64 * H, den + eps, mask=offs_t < T * (pid_d == 0).to(tl.int32))

        # ---- state update (after the read-out: the chunk's own keys enter through W)
        kLc = _rnd(kL, LOWP, DT, EMU)
        kHc = _rnd(kH, LOWP, DT, EMU)
        A0 += tl.sum(vm.to(tl.float32), 0)
        A1 = _update(A1, k, vm, STATE_T, LOWP, DT, ST_PREC, EMU)
        ALL = _update(ALL, _rnd(_outer(kLc, kLc, BT, HB), LOWP, DT, EMU), vm, STATE_T, LOWP, DT, ST_PREC, EMU)
        ALH = _update(ALH, _rnd(_outer(kLc, kHc, BT, HB), LOWP, DT, EMU), vm, STATE_T, LOWP, DT, ST_PREC, EMU)
        AHH = _update(AHH, _rnd(_outer(kHc, kHc, BT, HB), LOWP, DT, EMU), vm, STATE_T, LOWP, DT, ST_PREC, EMU)
        km = kf * ms[:, None]
        z0 += tl.sum(ms, 0)
        z1 += tl.sum(km, 0)
        Z2 += tl.dot(tl.trans(km), kf, input_precision="ieee")

    if STORE_STATE:
        if STATE_T:
            A1 = tl.trans(A1)
            ALL = tl.trans(ALL)
            ALH = tl.trans(ALH)
            AHH = tl.trans(AHH)
        sb = s_out_ptr + st64 * E * D
        tl.store(sb + offs_d, A0, mask=md)
        _store_rows(sb, 1 + offs_f, mf, offs_d, md, A1 * (1.0 / C1), D)
        _store_rows(sb, eLL, mLL, offs_d, md, ALL * (1.0 / C2), D)
        _store_rows(sb, eHH, mHH, offs_d, md, AHH * (1.0 / C2), D)
        slh = ALH * (1.0 / C2)
        if HAS_INIT:  # give back the antisymmetric part of the initial (L, H) / (H, L) blocks
            sib = s_init_ptr + st64 * E * D
            anti = 0.5 * (_load_rows(sib, eLH, mLH, offs_d, md, D) - _load_rows(sib, eHL, mLH, offs_d, md, D))
            _store_rows(sb, eLH, mLH, offs_d, md, slh + anti, D)
            _store_rows(sb, eHL, mLH, offs_d, md, slh - anti, D)
        else:
            _store_rows(sb, eLH, mLH, offs_d, md, slh, D)
            _store_rows(sb, eHL, mLH, offs_d, md, slh, D)
        blk0 = (pid_d == 0).to(tl.int32)
        zb = z_out_ptr + st64 * E
        tl.store(zb + tl.arange(0, 1), z0, mask=tl.arange(0, 1) < blk0)
        tl.store(zb + 1 + offs_f, z1 * (1.0 / C1), mask=offs_f < F * blk0)
        tl.store(zb + e2m, Z2 * (1.0 / C2), mask=(offs_f[:, None] < F * blk0) & mf[None, :])


# ----------------------------------------------------------------------------------------------
# launchers
# ----------------------------------------------------------------------------------------------
register_kernel("sym", _based_sym_fwd_kernel,
                ["T_BUCKET", "F", "D", "HAS_MASK", "HAS_INIT", "STORE_STATE", "STORE_DEN", "LOWP", "DT"],
                interpret_meta=SYM_INTERPRET)


def _launch(q, k, v, mask, s0, z0, eps, want_state, nseg, config):
    """One launch over rows of q, k, v [R, L, H, F|D] (contiguous). s0 [nseg, R/nseg*H, E, D], z0 likewise,
    or None. Returns (o, den + eps [R, L, H] fp32, (S [R*H, E, D], z [R*H, E]) or None)."""
    R, L, H, F = q.shape
    D = v.shape[-1]
    E = 1 + F + F * F
    m, m_stride, has_mask = _mask_arg(mask, q)
    o = torch.empty_like(v)
    den = torch.empty(R, L, H, device=q.device, dtype=torch.float32)
    if want_state:
        s_out = torch.empty(R * H, E, D, device=q.device, dtype=torch.float32)
        z_out = torch.empty(R * H, E, device=q.device, dtype=torch.float32)
    else:
        s_out = z_out = den  # dummy pointers, never written
    lowp, in_prec, st_prec = precisions(q.dtype)
    args = (q, k, v, m, s0 if s0 is not None else den, z0 if z0 is not None else den,
            o, den, s_out, z_out, L, H, m_stride, float(eps), next_pow2(L), nseg)
    consts = dict(F=F, FL=(F + 1) // 2, D=D, E=E, BF=feature_block(F), HB=HB,
                  HAS_MASK=has_mask, HAS_INIT=s0 is not None, STORE_STATE=bool(want_state), STORE_DEN=True,
                  LOWP=lowp, DT=_TL_DTYPE[q.dtype], IN_PREC=in_prec, ST_PREC=st_prec,
                  EMU=INTERPRET and q.dtype == torch.bfloat16)
    if config is None and q.dtype == torch.float32 and not INTERPRET:
        config = SYM_FP32
    if config is not None:
        cfg = dict(config)
        _based_sym_fwd_kernel[(triton.cdiv(D, cfg["BD"]), R * H)](*args, **consts, **cfg)
    else:
        tuned_kernel("sym", q.device)[lambda meta: (triton.cdiv(D, meta["BD"]), R * H)](*args, **consts)
    return o, den, ((s_out, z_out) if want_state else None)


def sym_forward(q, k, v, mask, init_s, init_z, eps, want_state, seg_len, config=None):
    """The symmetric forward with the contract of based_chunk._forward (the production entry).

    q, k [B, T, H, F], v [B, T, H, D] contiguous; mask [B, T] bool or None; init_s [B*H, E, D] /
    init_z [B*H, E] fp32 or None; seg_len a multiple of SEG_UNIT (>= T: one walk per sequence).
    Returns (o, den + eps [B, T, H] fp32, per-segment initial states (S [NS, B*H, E, D], z) or None,
    final (S [B*H, E, D], z [B*H, E]) or None, seg_len).

    With NS = ceil(T / seg_len) > 1 segments: each segment's own state comes from the state-only
    launch of the full kernel (`segment_states`, fully parallel over segments), an exclusive prefix
    sum over segments (plus the initial state) gives every segment its initial state, and one launch
    of the symmetric kernel runs the segments as extra rows (a [B, NS * seg_len] sequence viewed as
    [B * NS, seg_len]; the tail padded with masked positions). The per-segment initial states are
    what the backward's dq walk needs, so they are returned as the full kernel's _forward returns them.
    """
    B, T, H, F = q.shape
    D = v.shape[-1]
    ns = triton.cdiv(T, seg_len)
    if ns == 1:
        o, den, final = _launch(q, k, v, mask, init_s, init_z, eps, want_state, 1, config)
        seg = None if init_s is None else (init_s.unsqueeze(0), init_z.unsqueeze(0))
        return o, den, seg, final, seg_len
    s_loc, z_loc = segment_states(k, v, mask, seg_len)                      # [NS, B*H, E, D], [NS, B*H, E]
    s_seg = torch.cumsum(s_loc, 0) - s_loc                                   # exclusive prefix sums
    z_seg = torch.cumsum(z_loc, 0) - z_loc
    if init_s is not None:
        s_seg += init_s.unsqueeze(0)
        z_seg += init_z.unsqueeze(0)
    final = (s_seg[-1] + s_loc[-1], z_seg[-1] + z_loc[-1]) if want_state else None
    del s_loc, z_loc
    pad = ns * seg_len - T
    real = mask
    if pad:
        q, k, v = (torch.nn.functional.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        real = torch.ones(B, T, dtype=torch.bool, device=q.device) if mask is None else mask.to(torch.bool)
        real = torch.nn.functional.pad(real, (0, pad), value=False)
    rows = lambda x: x.reshape(B * ns, seg_len, *x.shape[2:])  # noqa: E731
    o, den, _ = _launch(rows(q), rows(k), rows(v), None if real is None else real.reshape(B * ns, seg_len),
                        s_seg, z_seg, eps, False, ns, config)
    o = o.view(B, ns * seg_len, H, D)
    den = den.view(B, ns * seg_len, H)
    if pad:
        o, den = o[:, :T].contiguous(), den[:, :T].contiguous()
    return o, den, (s_seg, z_seg), final, seg_len


def based_fwd_sym(q, k, v, *, key_padding_mask=None, initial_state=None, eps=1e-12, return_state=True,
                  config=None, segments=None):
    """Causal Based linear attention forward with the symmetric kernel (no autograd; the ops route
    through jrt.ops.based_linear_attention(..., kernel="sym") for gradients).

    q, k [B, T, H, F]; v [B, T, H, D]. Returns (o [B, T, H, D] in v's dtype, (S [B, H, E, D],
    z [B, H, E]) fp32 or None), the contract and phi-space state of based_linear_attention_triton.
    key_padding_mask: [B, T] bool (True = real token) or None; initial_state: (S, z) or None.
    config: optional dict of the kernel's meta-parameters, e.g. dict(BT=32, BD=32, TRANS_OUT=True,
    num_warps=4, num_stages=1), to launch one config without autotuning (benchmarks, tests).
    segments: split T into this many segments read in parallel (None: as the production kernel
    decides, i.e. only when B*H*(D/64) programs cannot fill the GPU; 1: never); see sym_forward.
    """
    if q.dim() != 4 or k.shape != q.shape or v.dim() != 4 or v.shape[:3] != q.shape[:3]:
        raise ValueError(f"based_fwd_sym: need q, k [B, T, H, F] and v [B, T, H, D], got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in _TL_DTYPE:
        raise ValueError(f"based_fwd_sym: q, k, v must share one of {list(_TL_DTYPE)}, got {q.dtype}, {k.dtype}, {v.dtype}")
    B, T, H, F = q.shape
    D = v.shape[-1]
    if not 1 <= F <= MAX_F:
        raise ValueError(f"based_fwd_sym: feature dim F must be in [1, {MAX_F}], got {F}")
    E = 1 + F + F * F
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (B, T):
        raise ValueError(f"based_fwd_sym: key_padding_mask must be [B, T] = {(B, T)}, got {tuple(key_padding_mask.shape)}")
    mask = None if key_padding_mask is None else key_padding_mask.to(torch.bool).contiguous()
    if segments is None:
        n_chunks = triton.cdiv(T, SEG_UNIT)
        segments = 1 if INTERPRET else _num_segments(B * H, triton.cdiv(D, 64), n_chunks, q.device)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"based_fwd_sym: segments must be an int >= 1 or None, got {segments!r}")
    seg_len = triton.cdiv(triton.cdiv(T, SEG_UNIT), segments) * SEG_UNIT
    init_s = init_z = None
    if initial_state is not None:
        s0, z0 = initial_state
        if tuple(s0.shape) != (B, H, E, D) or tuple(z0.shape) != (B, H, E):
            raise ValueError(f"based_fwd_sym: initial_state must be (S {(B, H, E, D)}, z {(B, H, E)}), got "
                             f"{tuple(s0.shape)}, {tuple(z0.shape)}")
        init_s = s0.to(device=q.device, dtype=torch.float32).reshape(B * H, E, D).contiguous()
        init_z = z0.to(device=q.device, dtype=torch.float32).reshape(B * H, E).contiguous()
    o, _, _, final, _ = sym_forward(q, k, v, mask, init_s, init_z, eps, return_state, seg_len, config)
    state = None
    if return_state:
        state = (final[0].reshape(B, H, E, D), final[1].reshape(B, H, E))
    return o, state
