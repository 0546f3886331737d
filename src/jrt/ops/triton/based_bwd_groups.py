"""The backward walks of based_chunk.py with the quadratic state rows split into RG row groups.

Experimental (docs/KERNEL_NOTES.md, "Row groups"): a backward config set naming RG > 1 launches
these instead of based_chunk's _based_bwd_dq_kernel / _based_bwd_dkdv_kernel, which stay exactly
as measured. Program (value block d, group g) carries the linear rows i and the quadratic rows
(i, j) with i in group g, so its state is RG times smaller; group 0 also carries the constant row
(every group accumulates it, masked rather than branched, which spills less) and the intra-chunk
terms. dq, dk and dv are partial sums over groups (and dq, dk over value blocks),
summed by the launcher (based_chunk._backward). Same arguments as the based_chunk kernels plus RG.
Deliberately a copy of those walks with the split written in, so that the production kernels compile
exactly as they were measured: once a GPU run (lab/device/kernels_v2.sh train_rg) says which is
faster, one of the two goes.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ._common import RSQRT2, dot_in, dot_st, quad_rows_group


@triton.jit
def _row_group(F: tl.constexpr, BF: tl.constexpr, BG: tl.constexpr, group):
    """Row group `group`'s values of i (offs [BG], valid mask), the one-hot [BG, BF] that places a
    per-i quantity in its feature column, and its quadratic state rows (rows [BG*BF], valid mask)."""
    offs_g = group * BG + tl.arange(0, BG)
    onehot = (offs_g[:, None] == tl.arange(0, BF)[None, :]).to(tl.float32)
    e2, mr = quad_rows_group(F, BF, BG, group)
    return offs_g, offs_g < F, onehot, e2, mr


@triton.jit
def _bwd_dq_groups_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr, s_init_ptr, z_init_ptr,
    do_ptr, den_ptr, hh_ptr,                  # do [B, T, H, D]; den, hh [B, T, H] fp32
    dq_ptr,                                   # [nD * RG, B, T, H, F] fp32 partial sums
    T, H, SEG_LEN, mask_stride, T_BUCKET,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, HAS_INIT: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
    RG: tl.constexpr = 1,
):
    # RG row groups: program (pid_d, pid_g) holds the linear rows i and the quadratic rows (i, j) with
    # i in its group (BF / RG of the BF values of i), so each program's state is RG times smaller;
    # group 0 also does the intra-chunk terms. dq is a partial sum over value blocks and groups.
    pid_d = tl.program_id(0) // RG
    pid_g = tl.program_id(0) % RG
    pid_s = tl.program_id(1)
    pid_bh = tl.program_id(2)
    n_bh = tl.num_programs(2)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    SCALE1: tl.constexpr = 1.0 / (F ** 0.25)
    SCALE2: tl.constexpr = 1.0 / (F ** 0.5)
    BG: tl.constexpr = BF // RG
    blk0 = (pid_d == 0).to(tl.float32)

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_g, mg, onehot, e2, mr = _row_group(F, BF, BG, pid_g)
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    do_base = do_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    hh_base = hh_ptr + b64 * T * H + h
    dq_base = dq_ptr + tl.program_id(0).to(tl.int64) * n_bh * T * F + (b64 * T * H + h) * F
    st_idx = (pid_s * n_bh + pid_bh).to(tl.int64)

    # the state rows this program carries: linear rows i and quadratic rows (i, j) for i in its group
    # (dq does not depend on the constant row)
    if HAS_INIT:
        sb = s_init_ptr + st_idx * E * D
        S1 = tl.load(sb + (1 + offs_g)[:, None] * D + offs_d[None, :], mask=mg[:, None] & md[None, :], other=0.0)
        S2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=mr[:, None] & md[None, :], other=0.0)
        zb = z_init_ptr + st_idx * E
        z1 = tl.load(zb + 1 + offs_g, mask=mg, other=0.0)
        z2 = tl.load(zb + e2, mask=mr, other=0.0)
    else:
        S1 = tl.zeros([BG, BD], dtype=tl.float32)
        S2 = tl.zeros([BG * BF, BD], dtype=tl.float32)
        z1 = tl.zeros([BG], dtype=tl.float32)
        z2 = tl.zeros([BG * BF], dtype=tl.float32)

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
        qf = q.to(tl.float32) * SCALE1
        kf = k.to(tl.float32) * SCALE1
        vm = v.to(tl.float32) * ms[:, None]

        # group 0: intra-chunk
        if pid_g == 0:
            a = dot_in(q, tl.trans(k), DT, IN_PREC) * SCALE2                       # [BT, BT]
            dw = dot_in(g, tl.trans(v), DT, IN_PREC) + hh[:, None]
            da = tl.where(causal, dw * (1.0 + a) * ms[None, :], 0.0)
            dq = dot_in(da, k, DT, IN_PREC) * SCALE2                               # [BT, BF]
        else:
            dq = tl.zeros([BT, BF], dtype=tl.float32)

        # this group's rows of the earlier chunks' state, without branches: with c1 = g S1^T + h z1
        # (linear rows) and U = mat(u) (quadratic rows), dq_a += c1_a + sum_j U[a, j] q_j for a in
        # the group (placed through the one-hot), and + sum_(i in group) U[i, a] q_i for every a
        qg = tl.load(q_base + t64[:, None] * (H * F) + offs_g[None, :], mask=mt[:, None] & mg[None, :],
                     other=0.0).to(tl.float32) * SCALE1                                # [BT, BG]
        kg = tl.load(k_base + t64[:, None] * (H * F) + offs_g[None, :], mask=mt[:, None] & mg[None, :],
                     other=0.0).to(tl.float32) * SCALE1
        if BG >= 16:     # tl.dot needs every dimension >= 16
            c1 = dot_st(g, tl.trans(S1), LOWP, DT, ST_PREC)
        else:
            c1 = tl.sum(g[:, None, :] * S1[None, :, :], 2)                              # [BT, BG]
        c1 += hh[:, None] * z1[None, :]
        u = dot_st(g, tl.trans(S2), LOWP, DT, ST_PREC) + hh[:, None] * z2[None, :]    # [BT, BG*BF]
        u3 = tl.reshape(u, [BT, BG, BF])
        own = c1 + tl.sum(u3 * qf[:, None, :], 2) * RSQRT2                             # [BT, BG]
        dq += (tl.sum(own[:, :, None] * onehot[None, :, :], 1) + tl.sum(u3 * qg[:, :, None], 1) * RSQRT2) * SCALE1
        tl.store(dq_base + t64[:, None] * (H * F) + offs_f[None, :], dq, mask=mtf)

        # state update (as in the forward), this group's rows
        k2 = tl.reshape(kg[:, :, None] * kf[:, None, :], [BT, BG * BF]) * RSQRT2
        S2 += dot_st(tl.trans(k2), vm, LOWP, DT, ST_PREC)
        z2 += tl.sum(k2 * ms[:, None], 0)
        if BG >= 16:
            S1 += dot_st(tl.trans(kg), vm, LOWP, DT, ST_PREC)
        else:
            S1 += tl.sum(kg[:, :, None] * vm[:, None, :], 0)
        z1 += tl.sum(kg * ms[:, None], 0)


# ----------------------------------------------------------------------------------------------
# backward: dk, dv (reverse walk); PREFIX mode for k_enc, v_enc
# ----------------------------------------------------------------------------------------------
@triton.jit
def _bwd_dkdv_groups_kernel(
    q_ptr, k_ptr, v_ptr, mask_ptr,
    ds_init_ptr, dz_init_ptr,                 # [B*H, E, D], [B*H, E] fp32 (PREFIX mode: the total dS, dz),
                                              # or [NS, B*H, E, D], [NS, B*H, E] (DS_INIT: per segment)
    do_ptr, den_ptr, hh_ptr,
    dk_ptr, dv_ptr,                           # dk [nD * RG, B, T, H, F] fp32 partials; dv [B, T, H, D]
                                              # (RG > 1: [RG, B, T, H, D] fp32 partials)
    ds_out_ptr, dz_out_ptr,                   # [B*H, E, D], [B*H, E] fp32: dS, dz after the walk
    T, H, SEG_LEN, mask_stride, T_BUCKET,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BT: tl.constexpr, BF: tl.constexpr, BD: tl.constexpr,
    HAS_MASK: tl.constexpr, INTRA: tl.constexpr, STORE_STATE: tl.constexpr,
    LOWP: tl.constexpr, DT: tl.constexpr, IN_PREC: tl.constexpr, ST_PREC: tl.constexpr,
    DS_INIT: tl.constexpr = False, RG: tl.constexpr = 1,
):
    # INTRA and DS_INIT: segment-parallel reverse walk; each segment starts from the dS, dz of the
    # queries of all later segments (ds_init[pid_s]), computed in parallel by the caller.
    # RG row groups: as in the dq kernel (each program carries the dS rows of its group of i; the
    # constant row's contribution counts in group 0 only; group 0 the intra-chunk terms); dk and dv
    # are then partial sums.
    pid_d = tl.program_id(0) // RG
    pid_g = tl.program_id(0) % RG
    pid_s = tl.program_id(1)
    pid_bh = tl.program_id(2)
    n_bh = tl.num_programs(2)
    b64 = (pid_bh // H).to(tl.int64)
    h = pid_bh % H
    SCALE1: tl.constexpr = 1.0 / (F ** 0.25)
    SCALE2: tl.constexpr = 1.0 / (F ** 0.5)
    BG: tl.constexpr = BF // RG
    blk0 = (pid_d == 0).to(tl.float32)

    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_g, mg, onehot, e2, mr = _row_group(F, BF, BG, pid_g)
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    offs_c = tl.arange(0, BT)
    causal = offs_c[:, None] >= offs_c[None, :]

    q_base = q_ptr + (b64 * T * H + h) * F
    k_base = k_ptr + (b64 * T * H + h) * F
    v_base = v_ptr + (b64 * T * H + h) * D
    do_base = do_ptr + (b64 * T * H + h) * D
    den_base = den_ptr + b64 * T * H + h
    hh_base = hh_ptr + b64 * T * H + h
    dk_base = dk_ptr + tl.program_id(0).to(tl.int64) * n_bh * T * F + (b64 * T * H + h) * F
    dv_base = dv_ptr + pid_g.to(tl.int64) * n_bh * T * D + (b64 * T * H + h) * D
    st_idx = pid_bh.to(tl.int64)
    if DS_INIT:
        st_idx = (pid_s * n_bh + pid_bh).to(tl.int64)

    # this program's rows: the constant row (used by group 0 only), linear rows i and quadratic rows
    # (i, j) for i in its group
    lead = (pid_g == 0).to(tl.float32)
    if INTRA and not DS_INIT:
        dS0 = tl.zeros([BD], dtype=tl.float32)
        dS1 = tl.zeros([BG, BD], dtype=tl.float32)
        dS2 = tl.zeros([BG * BF, BD], dtype=tl.float32)
        dz0 = tl.zeros([1], dtype=tl.float32)
        dz1 = tl.zeros([BG], dtype=tl.float32)
        dz2 = tl.zeros([BG * BF], dtype=tl.float32)
    else:
        sb = ds_init_ptr + st_idx * E * D
        dS0 = tl.load(sb + offs_d, mask=md, other=0.0)
        dS1 = tl.load(sb + (1 + offs_g)[:, None] * D + offs_d[None, :], mask=mg[:, None] & md[None, :], other=0.0)
        dS2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=mr[:, None] & md[None, :], other=0.0)
        zb = dz_init_ptr + st_idx * E
        dz0 = tl.load(zb + tl.arange(0, 1))
        dz1 = tl.load(zb + 1 + offs_g, mask=mg, other=0.0)
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
        kg = tl.load(k_base + t64[:, None] * (H * F) + offs_g[None, :], mask=mt[:, None] & mg[None, :],
                     other=0.0).to(tl.float32) * SCALE1                                # [BT, BG]
        k2 = tl.reshape(kg[:, :, None] * kf[:, None, :], [BT, BG * BF]) * RSQRT2

        # from the queries of later chunks (state dS, dz): this group's rows and (group 0) the
        # constant row, without branches
        dv = dot_st(k2, dS2, LOWP, DT, ST_PREC) + lead * dS0[None, :]                              # [BT, BD]
        if BG >= 16:     # tl.dot needs every dimension >= 16
            dv += dot_st(kg, dS1, LOWP, DT, ST_PREC)
            c1 = dot_st(v, tl.trans(dS1), LOWP, DT, ST_PREC)
        else:
            dv += tl.sum(kg[:, :, None] * dS1[None, :, :], 1)
            c1 = tl.sum(v[:, None, :] * dS1[None, :, :], 2)                                          # [BT, BG]
        c1 += blk0 * dz1[None, :]
        u = dot_st(v, tl.trans(dS2), LOWP, DT, ST_PREC) + blk0 * dz2[None, :]                        # [BT, BG*BF]
        u3 = tl.reshape(u, [BT, BG, BF])
        own = c1 + tl.sum(u3 * kf[:, None, :], 2) * RSQRT2                                            # [BT, BG]
        dk = (tl.sum(own[:, :, None] * onehot[None, :, :], 1) + tl.sum(u3 * kg[:, :, None], 1) * RSQRT2) * SCALE1

        if INTRA:
            q = tl.load(q_base + t64[:, None] * (H * F) + offs_f[None, :], mask=mtf, other=0.0)
            do = tl.load(do_base + t64[:, None] * (H * D) + offs_d[None, :], mask=mtd, other=0.0)
            den = tl.load(den_base + t64 * H, mask=mt, other=1.0)
            hh = tl.load(hh_base + t64 * H, mask=mt, other=0.0)
            g = do.to(tl.float32) / den[:, None]                                   # [BT, BD]
            if pid_g == 0:
                a = dot_in(q, tl.trans(k), DT, IN_PREC) * SCALE2                   # [BT(t), BT(s)]
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
            qg = tl.load(q_base + t64[:, None] * (H * F) + offs_g[None, :], mask=mt[:, None] & mg[None, :],
                         other=0.0).to(tl.float32) * SCALE1
            q2 = tl.reshape(qg[:, :, None] * qf[:, None, :], [BT, BG * BF]) * RSQRT2
            dS2 += dot_st(tl.trans(q2), g, LOWP, DT, ST_PREC)
            dz2 += tl.sum(q2 * hh[:, None], 0)
            if BG >= 16:
                dS1 += dot_st(tl.trans(qg), g, LOWP, DT, ST_PREC)
            else:
                dS1 += tl.sum(qg[:, :, None] * g[:, None, :], 0)
            dz1 += tl.sum(qg * hh[:, None], 0)
            dS0 += tl.sum(g, 0)          # every group carries it; group 0's is the one used and stored
            dz0 += tl.sum(hh, 0)

    if STORE_STATE:
        sb = ds_out_ptr + st_idx * E * D
        zb = dz_out_ptr + st_idx * E
        blk0_i = (pid_d == 0).to(tl.int32)                 # z rows: value block 0 only
        lead_i = (pid_g == 0).to(tl.int32)                 # the constant row: group 0 only
        tl.store(sb + e2[:, None] * D + offs_d[None, :], dS2, mask=mr[:, None] & md[None, :])
        tl.store(zb + e2, dz2, mask=mr & (e2 < E * blk0_i))
        tl.store(sb + (1 + offs_g)[:, None] * D + offs_d[None, :], dS1, mask=mg[:, None] & md[None, :])
        tl.store(zb + 1 + offs_g, dz1, mask=offs_g < F * blk0_i)
        tl.store(sb + offs_d, dS0, mask=md & (offs_d < D * lead_i))
        tl.store(zb + tl.arange(0, 1), dz0, mask=tl.arange(0, 1) < blk0_i * lead_i)
