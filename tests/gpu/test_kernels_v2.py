"""Every forward kernel x schedule of the Triton ops on a CUDA device: forward, state and gradients.

kernel in {"sym", "full"} x schedule in {"walk", "chunk"}, bf16 and fp16, against jrt.ops.naive in
fp32 on the same (upcast) inputs; the error budget is test_triton_gpu.py's (relative RMS and max per
output, bf16 1e-2 / 3e-2 for outputs and states, 2e-2 / 6e-2 for gradients). Also: the selection
on this device (its capability's config sets), the segmented symmetric forward at B*H = 2 over
T = 32768, and sym vs full outputs within bf16 rounding of each other.
"""
import os

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") == "1", reason="GPU tests run compiled kernels"),
]

from jrt.ops import based_linear_attention, prefix_linear_attention  # noqa: E402

DEV = "cuda"
BUDGET = {
    torch.bfloat16: ((1e-2, 3e-2), (2e-2, 6e-2)),
    torch.float16: ((3e-3, 1e-2), (6e-3, 2e-2)),
}
VARIANTS = [("sym", "walk"), ("sym", "chunk"), ("full", "walk"), ("full", "chunk")]


def _check(x, ref, name, tol):
    rms_tol, max_tol = tol
    assert torch.isfinite(x).all(), f"{name}: non-finite values"
    x, ref = x.double(), ref.double()
    rms = ((x - ref).norm() / ref.norm().clamp_min(1e-30)).item()
    mx = ((x - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()
    assert rms < rms_tol and mx < max_tol, f"{name}: rel RMS {rms:.3g} (budget {rms_tol}), rel max {mx:.3g} (budget {max_tol})"


def _inputs(B, T, H, F, D, dtype, P=0, seed=0):
    g = torch.Generator(device=DEV).manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, device=DEV).to(dtype)  # noqa: E731
    out = [mk(B, T, H, F), mk(B, T, H, F), mk(B, T, H, D)]
    if P:
        out += [mk(B, P, H, F), mk(B, P, H, D)]
    return out


def _grads(fn, tensors, do):
    xs = [t.detach().clone().requires_grad_(True) for t in tensors]
    o, state = fn(*xs)
    (o.float() * do).sum().backward()
    return o.detach(), state, [x.grad for x in xs]


@pytest.mark.parametrize("kernel,schedule,dtype", [(kn, sc, torch.bfloat16) for kn, sc in VARIANTS]
                         + [("sym", "chunk", torch.float16), ("full", "walk", torch.float16)])
def test_based_variants(kernel, schedule, dtype):
    B, T, H, F, D = 2, 1500, 4, 16, 64
    q, k, v = _inputs(B, T, H, F, D, dtype, seed=1)
    mask = torch.ones(B, T, dtype=torch.bool, device=DEV)
    mask[0, :200] = False
    do = torch.randn(B, T, H, D, device=DEV)
    kw = dict(output_final_state=True, key_padding_mask=mask)
    o, (s, z), g = _grads(lambda *a: based_linear_attention(*a, **kw, backend="triton", kernel=kernel,
                                                            schedule=schedule), (q, k, v), do)
    o_ref, (s_ref, z_ref), g_ref = _grads(lambda *a: based_linear_attention(*a, **kw, backend="naive"),
                                          [x.float() for x in (q, k, v)], do)
    tol, gtol = BUDGET[dtype]
    _check(o, o_ref, "o", tol)
    _check(s, s_ref, "S", tol)
    _check(z, z_ref, "z", tol)
    for name, x, ref in zip("qkv", g, g_ref):
        _check(x, ref, f"d{name}", gtol)


def _prefix_case(seed, dtype=torch.bfloat16):
    """PLA inputs (q, k, v, k_enc, v_enc) with a left-padded row, a per-row prefix mask and an initial
    state; returns (inputs, op keyword arguments, output gradient)."""
    B, T, P, H, F, D = 2, 1200, 600, 4, 16, 64
    inputs = _inputs(B, T, H, F, D, dtype, P=P, seed=seed)
    mask = torch.ones(B, T, dtype=torch.bool, device=DEV)
    mask[1, :100] = False
    prefix_mask = mask[:, :P].clone()
    prefix_mask[0, 500:] = False
    E = 1 + F + F * F
    init = (torch.randn(B, H, E, D, device=DEV) * 0.1, torch.rand(B, H, E, device=DEV) + 1.0)
    do = torch.randn(B, T, H, D, device=DEV)
    return inputs, dict(initial_state=init, key_padding_mask=mask, prefix_mask=prefix_mask), do


@pytest.mark.parametrize("kernel,schedule", VARIANTS)
def test_prefix_variants(kernel, schedule):
    dtype = torch.bfloat16
    (q, k, v, ke, ve), kw, do = _prefix_case(seed=2, dtype=dtype)
    kw["output_final_state"] = True
    o, (s, z), g = _grads(lambda *a: prefix_linear_attention(*a, **kw, backend="triton", kernel=kernel,
                                                             schedule=schedule), (q, k, v, ke, ve), do)
    o_ref, (s_ref, z_ref), g_ref = _grads(lambda *a: prefix_linear_attention(*a, **kw, backend="naive"),
                                          [x.float() for x in (q, k, v, ke, ve)], do)
    tol, gtol = BUDGET[dtype]
    _check(o, o_ref, "o", tol)
    _check(s, s_ref, "S", tol)
    _check(z, z_ref, "z", tol)
    for name, x, ref in zip(("q", "k", "v", "k_enc", "v_enc"), g, g_ref):
        _check(x, ref, f"d{name}", gtol)


def test_sym_segmented_long_sequence():
    """B*H = 2 programs cannot fill the GPU: the walk splits T into segments (symmetric forward)."""
    B, T, H, F, D = 1, 32768, 2, 16, 64
    q, k, v = _inputs(B, T, H, F, D, torch.bfloat16, seed=3)
    o, (s, z) = based_linear_attention(q, k, v, output_final_state=True, backend="triton", kernel="sym",
                                       schedule="walk")
    o_ref, (s_ref, z_ref) = based_linear_attention(*[x.float() for x in (q, k, v)], output_final_state=True,
                                                   backend="torch")
    tol = BUDGET[torch.bfloat16][0]
    _check(o, o_ref, "o", tol)
    _check(s, s_ref, "S", tol)
    _check(z, z_ref, "z", tol)


def test_sym_and_full_agree_at_the_benchmark_scale():
    """The paper's inputs (randn / F) at B=4, T=8192: the two kernels within bf16 rounding of each other."""
    B, T, H, F, D = 4, 8192, 16, 16, 64
    g = torch.Generator(device=DEV).manual_seed(4)
    q, k = (torch.randn(B, T, H, F, generator=g, device=DEV) / F for _ in range(2))
    v = torch.randn(B, T, H, D, generator=g, device=DEV) / D
    q, k, v = (x.bfloat16() for x in (q, k, v))
    o_sym, _ = based_linear_attention(q, k, v, backend="triton", kernel="sym")
    o_full, _ = based_linear_attention(q, k, v, backend="triton", kernel="full")
    _check(o_sym, o_full.float(), "sym vs full", (1e-2, 3e-2))


def test_selection_on_this_device():
    from jrt.ops.triton import _configs, based_chunk
    cap = torch.cuda.get_device_capability()
    dev = torch.device(DEV)
    tuned = based_chunk.tuned_kernel("fwd", dev)
    got = [(dict(c.kwargs), c.num_warps, c.num_stages) for c in tuned.configs]
    assert got == [(dict(m), w, s) for m, w, s in _configs.select("fwd", cap)]
    if tuple(cap) == (9, 0) and not any(os.environ.get(n) for n in ("JRT_TRITON_FWD_CONFIGS", "JRT_TRITON_AUTOTUNE")):
        assert got[0] == ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1)

