"""One recurrent step of Based linear attention for a batch of tokens, fused in one launch.

Per (value block, batch*head) program: S' = S + phi(k) v^T, z' = z + phi(k) (phi formed in registers),
o = phi(q)^T S' / (phi(q).z' + eps). Memory-bound: it reads and writes the fp32 state once
(B*H*E*(D+1)*4 bytes each way; 18.2 MB for B=16, H=16, F=16, D=64). The new state is written
out of place (the contract returns it); no autograd.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import RSQRT2, configs, feature_block, quad_rows, value_block


@triton.autotune(configs=configs(stages=(1,)), key=["F", "D"])
@triton.jit
def _based_decode_kernel(
    q_ptr, k_ptr, v_ptr,                      # q, k [B*H, F]; v [B*H, D]
    s_ptr, z_ptr,                             # [B*H, E, D], [B*H, E] fp32 (input state)
    o_ptr, s_new_ptr, z_new_ptr,              # o [B*H, D]; new state like the input state
    eps,
    F: tl.constexpr, D: tl.constexpr, E: tl.constexpr,
    BF: tl.constexpr, BD: tl.constexpr,
):
    pid_d = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    SCALE1: tl.constexpr = 1.0 / (F ** 0.25)
    offs_f = tl.arange(0, BF)
    mf = offs_f < F
    offs_d = pid_d * BD + tl.arange(0, BD)
    md = offs_d < D
    e2, mr = quad_rows(F, BF)
    o1 = tl.arange(0, 1)

    qf = tl.load(q_ptr + bh * F + offs_f, mask=mf, other=0.0).to(tl.float32) * SCALE1
    kf = tl.load(k_ptr + bh * F + offs_f, mask=mf, other=0.0).to(tl.float32) * SCALE1
    v = tl.load(v_ptr + bh * D + offs_d, mask=md, other=0.0).to(tl.float32)
    q2 = tl.reshape(qf[:, None] * qf[None, :], [BF * BF]) * RSQRT2
    k2 = tl.reshape(kf[:, None] * kf[None, :], [BF * BF]) * RSQRT2

    sb = s_ptr + bh * E * D
    nb = s_new_ptr + bh * E * D
    m1 = mf[:, None] & md[None, :]
    m2 = mr[:, None] & md[None, :]
    S0 = tl.load(sb + offs_d, mask=md, other=0.0) + v
    S1 = tl.load(sb + (1 + offs_f)[:, None] * D + offs_d[None, :], mask=m1, other=0.0) + kf[:, None] * v[None, :]
    S2 = tl.load(sb + e2[:, None] * D + offs_d[None, :], mask=m2, other=0.0) + k2[:, None] * v[None, :]
    zb = z_ptr + bh * E
    z0 = tl.load(zb + o1) + 1.0
    z1 = tl.load(zb + 1 + offs_f, mask=mf, other=0.0) + kf
    z2 = tl.load(zb + e2, mask=mr, other=0.0) + k2

    num = S0 + tl.sum(qf[:, None] * S1, 0) + tl.sum(q2[:, None] * S2, 0)      # [BD]
    den = z0 + tl.sum(qf * z1, 0) + tl.sum(q2 * z2, 0)                          # [1]
    tl.store(o_ptr + bh * D + offs_d, (num / (den + eps)).to(o_ptr.dtype.element_ty), mask=md)

    tl.store(nb + offs_d, S0, mask=md)
    tl.store(nb + (1 + offs_f)[:, None] * D + offs_d[None, :], S1, mask=m1)
    tl.store(nb + e2[:, None] * D + offs_d[None, :], S2, mask=m2)
    znb = z_new_ptr + bh * E
    tl.store(znb + o1, z0, mask=o1 < (pid_d == 0).to(tl.int32))
    tl.store(znb + 1 + offs_f, z1, mask=offs_f < F * (pid_d == 0).to(tl.int32))
    tl.store(znb + e2, z2, mask=mr & (e2 < E * (pid_d == 0).to(tl.int32)))  # block 0 only


def based_decode_step_triton(q, k, v, state, eps=1e-12):
    """q, k [B, H, F]; v [B, H, D]; state (S [B, H, E, D], z [B, H, E]) -> (o [B, H, D], new state)."""
    B, H, F = q.shape
    D = v.shape[-1]
    E = 1 + F + F * F
    s, z = state
    s = s.float().contiguous()
    z = z.float().contiguous()
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    o = torch.empty_like(v)
    s_new = torch.empty_like(s)
    z_new = torch.empty_like(z)
    BF, BD = feature_block(F), value_block(D, 32)
    grid = (triton.cdiv(D, BD), B * H)
    with torch.no_grad():
        _based_decode_kernel[grid](q, k, v, s, z, o, s_new, z_new, float(eps), F=F, D=D, E=E, BF=BF, BD=BD)
    return o, (s_new, z_new)
