"""The Triton kernels under TRITON_INTERPRET=1 on CPU, fp32, against jrt.ops.naive.

Small shapes (T <= 128, B = H = 2, F in {4, 8}, D in {8, 16}); the forward chunk is 64 tokens and
the backward chunk 32, so T in {1, 37, 100, 128} covers a partial single chunk, a partial last chunk
and whole chunks. JRT_TRITON_SEGMENTS forces the two-launch segmented forward on some cases.
"""
import os
import sys

import pytest
import torch

from interpreter_mode import interpreting as _interpreting

triton = pytest.importorskip("triton")

from jrt.ops import based_decode_step, based_linear_attention, naive, prefix_linear_attention  # noqa: E402

pytestmark = pytest.mark.skipif(not _interpreting(),
                                reason="needs TRITON_INTERPRET=1 before the kernels are defined (run this module alone)")

RTOL = 1e-4


def _rel_err(x, ref):
    return ((x.double() - ref.double()).abs().max() / ref.double().abs().max().clamp_min(1e-30)).item()


def _assert_close(x, ref, name, tol=RTOL):
    if ref.abs().max() < 1e-6:  # an analytically zero gradient (e.g. dq at T=1): absolute check
        assert (x - ref).abs().max() < 1e-6, f"{name}: expected ~0, got max {x.abs().max():.3g}"
        return
    err = _rel_err(x, ref)
    assert err < tol, f"{name}: max relative error {err:.3g} >= {tol}"


def _inputs(B, T, H, F, D, P=None, scale=0.5, dtype=torch.float32):
    g = torch.Generator().manual_seed(1234 + T + 7 * F + (P or 0))
    mk = lambda *s: (torch.randn(*s, generator=g) * scale).to(dtype)  # noqa: E731
    q, k, v = mk(B, T, H, F), mk(B, T, H, F), mk(B, T, H, D)
    if P is None:
        return q, k, v
    return q, k, v, mk(B, P, H, F), mk(B, P, H, D)


def _init_state(B, H, F, D):
    E = 1 + F + F * F
    g = torch.Generator().manual_seed(99)
    s = torch.randn(B, H, E, D, generator=g) * 0.3
    z = torch.rand(B, H, E, generator=g) + 0.5       # positive, like a real sum of features
    return s, z


def _left_pad_mask(B, T, pad):
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[0, :pad] = False
    return mask


@pytest.fixture
def segments(monkeypatch):
    def set_segments(n):
        monkeypatch.setenv("JRT_TRITON_SEGMENTS", str(n))
    return set_segments


# ---------------------------------------------------------------------------------------------
# Based, forward
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("T,F,D,n_seg", [(1, 4, 8, 1), (37, 8, 16, 1), (100, 4, 8, 2), (128, 8, 16, 2)])
def test_based_forward_and_state(T, F, D, n_seg, segments):
    segments(n_seg)
    q, k, v = _inputs(2, T, 2, F, D)
    o, (s, z) = based_linear_attention(q, k, v, output_final_state=True, backend="triton")
    o_ref, (s_ref, z_ref) = naive.based_linear_attention_naive(q, k, v, output_final_state=True)
    assert o.shape == v.shape and o.dtype == v.dtype
    assert s.dtype == torch.float32 and s.shape == s_ref.shape and z.shape == z_ref.shape
    _assert_close(o, o_ref, "o")
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


@pytest.mark.parametrize("n_seg", [1, 2])
def test_based_initial_state_and_mask(n_seg, segments):
    segments(n_seg)
    B, T, H, F, D = 2, 100, 2, 4, 8
    q, k, v = _inputs(B, T, H, F, D)
    init = _init_state(B, H, F, D)
    mask = _left_pad_mask(B, T, 23)
    o, (s, z) = based_linear_attention(q, k, v, initial_state=init, output_final_state=True,
                                       key_padding_mask=mask, backend="triton")
    o_ref, (s_ref, z_ref) = naive.based_linear_attention_naive(q, k, v, initial_state=init, output_final_state=True,
                                                               key_padding_mask=mask)
    _assert_close(o, o_ref, "o")
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


def test_based_left_padding_matches_unpadded():
    B, T, H, F, D, pad = 1, 70, 2, 4, 8, 13
    q, k, v = _inputs(B, T, H, F, D)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[:, :pad] = False
    o_pad, (s_pad, _) = based_linear_attention(q, k, v, output_final_state=True, key_padding_mask=mask,
                                               backend="triton")
    o, (s, _) = based_linear_attention(q[:, pad:], k[:, pad:], v[:, pad:], output_final_state=True,
                                       backend="triton")
    _assert_close(o_pad[:, pad:], o, "o (real positions)")
    _assert_close(s_pad, s, "S")


def test_based_no_state_returns_none():
    q, k, v = _inputs(1, 5, 1, 4, 8)
    o, state = based_linear_attention(q, k, v, backend="triton")
    assert state is None and o.shape == v.shape


def test_based_fp16_forward():
    q, k, v = _inputs(2, 50, 2, 8, 16, dtype=torch.float16)
    o, _ = based_linear_attention(q, k, v, backend="triton")
    o_ref, _ = naive.based_linear_attention_naive(q.float(), k.float(), v.float())
    assert o.dtype == torch.float16
    _assert_close(o.float(), o_ref, "o fp16", tol=5e-3)


# ---------------------------------------------------------------------------------------------
# PLA, forward
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("T,P,n_seg", [(37, 0, 1), (37, 37, 1), (100, 45, 2), (128, 64, 1), (1, 1, 1)])
def test_prefix_forward_and_state(T, P, n_seg, segments):
    segments(n_seg)
    B, H, F, D = 2, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    o, (s, z) = prefix_linear_attention(q, k, v, ke, ve, output_final_state=True, backend="triton")
    o_ref, (s_ref, z_ref) = naive.prefix_linear_attention_naive(q, k, v, ke, ve, output_final_state=True)
    _assert_close(o, o_ref, "o")
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


def _check_prefix_with_state_and_mask(B, T, P, H, F, D, pad):
    """PLA through the Triton backend with an initial state and left padding, against naive.py."""
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    init = _init_state(B, H, F, D)
    mask = _left_pad_mask(B, T, pad)
    o, (s, z) = prefix_linear_attention(q, k, v, ke, ve, initial_state=init, output_final_state=True,
                                        key_padding_mask=mask, backend="triton")
    o_ref, (s_ref, z_ref) = naive.prefix_linear_attention_naive(q, k, v, ke, ve, initial_state=init,
                                                                output_final_state=True, key_padding_mask=mask)
    _assert_close(o, o_ref, "o")
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


def test_prefix_initial_state_and_mask():
    _check_prefix_with_state_and_mask(B=2, T=90, P=50, H=2, F=8, D=16, pad=30)


# ---------------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------------
def _grads(fn, tensors, do):
    tensors = [t.detach().clone().requires_grad_(True) for t in tensors]
    o, _ = fn(*tensors)
    (o * do).sum().backward()
    return o.detach(), [t.grad for t in tensors]


@pytest.mark.parametrize("T,F,D,masked,init,n_seg", [(37, 4, 8, False, False, 1), (100, 8, 16, True, True, 2),
                                                     (1, 4, 8, False, False, 1)])
def test_based_gradients(T, F, D, masked, init, n_seg, segments):
    segments(n_seg)
    B, H = 2, 2
    q, k, v = _inputs(B, T, H, F, D)
    mask = _left_pad_mask(B, T, 21) if masked and T > 21 else None
    state = _init_state(B, H, F, D) if init else None
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(5))

    def run(backend):
        if backend == "triton":
            return lambda q_, k_, v_: based_linear_attention(q_, k_, v_, initial_state=state, key_padding_mask=mask,
                                                             backend="triton")
        return lambda q_, k_, v_: naive.based_linear_attention_naive(q_, k_, v_, initial_state=state,
                                                                     key_padding_mask=mask)

    o, grads = _grads(run("triton"), (q, k, v), do)
    o_ref, grads_ref = _grads(run("naive"), (q, k, v), do)
    _assert_close(o, o_ref, "o")
    for name, g, g_ref in zip("qkv", grads, grads_ref):
        _assert_close(g, g_ref, f"d{name}")


@pytest.mark.parametrize("T,P,masked", [(70, 45, True), (40, 40, False), (33, 0, False)])
def test_prefix_gradients(T, P, masked):
    B, H, F, D = 2, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    mask = _left_pad_mask(B, T, 17) if masked else None
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(6))
    o, grads = _grads(lambda *a: prefix_linear_attention(*a, key_padding_mask=mask, backend="triton"),
                      (q, k, v, ke, ve), do)
    o_ref, grads_ref = _grads(lambda *a: naive.prefix_linear_attention_naive(*a, key_padding_mask=mask),
                              (q, k, v, ke, ve), do)
    _assert_close(o, o_ref, "o")
    for name, g, g_ref in zip(("q", "k", "v", "k_enc", "v_enc"), grads, grads_ref):
        if g_ref.numel() == 0:
            assert g.shape == g_ref.shape
            continue
        _assert_close(g, g_ref, f"d{name}")


def test_prefix_mask_per_row_forward_state_and_gradients():
    """Rows with their own prefix columns (a left-padded batch of mixed lengths), against naive."""
    B, T, P, H, F, D = 2, 70, 50, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    mask = _left_pad_mask(B, T, 17)
    pmask = torch.zeros(B, P, dtype=torch.bool)
    for b in range(B):  # each row's own first 20 real tokens
        first = int((~mask[b]).sum())
        pmask[b, first:first + 20] = True
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(8))
    kw = dict(key_padding_mask=mask, prefix_mask=pmask)
    o, grads = _grads(lambda *a: prefix_linear_attention(*a, backend="triton", **kw), (q, k, v, ke, ve), do)
    o_ref, grads_ref = _grads(lambda *a: naive.prefix_linear_attention_naive(*a, **kw), (q, k, v, ke, ve), do)
    _assert_close(o, o_ref, "o")
    for name, g, g_ref in zip(("q", "k", "v", "k_enc", "v_enc"), grads, grads_ref):
        _assert_close(g, g_ref, f"d{name}")
    _, (s, z) = prefix_linear_attention(q, k, v, ke, ve, output_final_state=True, backend="triton", **kw)
    _, (s_ref, z_ref) = naive.prefix_linear_attention_naive(q, k, v, ke, ve, output_final_state=True, **kw)
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


# ---------------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("F,D", [(4, 8), (8, 16)])
def test_decode_step(F, D):
    B, H = 2, 2
    g = torch.Generator().manual_seed(3)
    q, k, v = torch.randn(B, H, F, generator=g), torch.randn(B, H, F, generator=g), torch.randn(B, H, D, generator=g)
    state = _init_state(B, H, F, D)
    o, (s, z) = based_decode_step(q, k, v, state, backend="triton")
    o_ref, (s_ref, z_ref) = naive.based_decode_step_naive(q, k, v, state)
    _assert_close(o, o_ref, "o")
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")


def test_prefill_then_decode_matches_full_sequence():
    B, T, P, H, F, D = 2, 40, 16, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T + 1, H, F, D, P=P)
    o_full, _ = prefix_linear_attention(q, k, v, ke, ve, backend="triton")
    _, state = prefix_linear_attention(q[:, :T], k[:, :T], v[:, :T], ke, ve, output_final_state=True,
                                       backend="triton")
    o_last, _ = based_decode_step(q[:, T], k[:, T], v[:, T], state, backend="triton")
    _assert_close(o_last, o_full[:, T], "o (decoded token)")


def test_several_value_blocks_odd_dims(monkeypatch, segments):
    """D split over several value blocks (partial dq/dk summed, h terms once), F and D not powers of 2.

    Backward value blocks of 16 (3 blocks, the last one partial); the forward's block is 64 or 32
    by the interpreter config (JRT_TRITON_INTERPRET_META=2 or 3 gives 2 forward blocks).
    """
    from jrt.ops.triton import based_chunk
    monkeypatch.setattr(based_chunk, "BWD_BD_CAP", 16)
    segments(2)
    B, T, P, H, F, D = 2, 77, 29, 2, 6, 40
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    init = _init_state(B, H, F, D)
    mask = _left_pad_mask(B, T, 11)
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(7))
    kw = dict(initial_state=init, key_padding_mask=mask)
    o, grads = _grads(lambda *a: prefix_linear_attention(*a, backend="triton", **kw), (q, k, v, ke, ve), do)
    o_ref, grads_ref = _grads(lambda *a: naive.prefix_linear_attention_naive(*a, **kw), (q, k, v, ke, ve), do)
    _assert_close(o, o_ref, "o")
    for name, g, g_ref in zip(("q", "k", "v", "k_enc", "v_enc"), grads, grads_ref):
        _assert_close(g, g_ref, f"d{name}")
    _, (s, z) = prefix_linear_attention(q, k, v, ke, ve, output_final_state=True, backend="triton", **kw)
    _, (s_ref, z_ref) = naive.prefix_linear_attention_naive(q, k, v, ke, ve, output_final_state=True, **kw)
    _assert_close(s, s_ref, "S")
    _assert_close(z, z_ref, "z")
    o_dec, (s_dec, _) = based_decode_step(q[:, 0, :, :], k[:, 0], v[:, 0], (s, z), backend="triton")
    o_dec_ref, (s_dec_ref, _) = naive.based_decode_step_naive(q[:, 0], k[:, 0], v[:, 0], (s_ref, z_ref))
    _assert_close(o_dec, o_dec_ref, "decode o")
    _assert_close(s_dec, s_dec_ref, "decode S")


def test_backward_value_block_from_the_config_set(segments, monkeypatch):
    """A backward set naming BD = 16 (D = 40: three value blocks, the last partial) is what the
    backward launches with, and it gives the reference gradients."""
    from jrt.ops.triton import _configs, based_chunk
    blocks = []
    real_value_block = based_chunk.value_block
    monkeypatch.setattr(based_chunk, "value_block",
                        lambda d, cap: blocks.append(real_value_block(d, cap)) or blocks[-1])
    segments(2)
    B, T, P, H, F, D = 2, 45, 20, 2, 4, 40
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P)
    mask = _left_pad_mask(B, T, 7)
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(9))
    kw = dict(key_padding_mask=mask)
    o_ref, grads_ref = _grads(lambda *a: naive.prefix_linear_attention_naive(*a, **kw), (q, k, v, ke, ve), do)
    _configs.override("bwd", [({"BT": 16, "BD": 16}, 4, 1)])
    try:
        o, grads = _grads(lambda *a: prefix_linear_attention(*a, backend="triton", **kw), (q, k, v, ke, ve), do)
    finally:
        _configs.override("bwd", None)
    assert 16 in blocks and 32 not in blocks[blocks.index(16):]   # the backward ran with BD = 16
    _assert_close(o, o_ref, "o")
    for name, g, g_ref in zip(("q", "k", "v", "k_enc", "v_enc"), grads, grads_ref):
        _assert_close(g, g_ref, f"d{name}")


def test_kernels_compile_for_sm90():
    """The compiled (non-interpreted) kernels lower to sm_90 cubins: ptxas runs without a GPU."""
    import subprocess
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    proc = subprocess.run([sys.executable, "-m", "jrt.ops.triton.compile_check", "--dtypes", "bf16"],
                          capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0 and "ptxas" in proc.stdout + proc.stderr and "not found" in proc.stdout + proc.stderr:
        pytest.skip("no ptxas in this triton install")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "0 failure(s)" in proc.stdout


def test_fp16_gradients_with_fully_masked_rows():
    """Left padding: the first queries see only masked keys (den = eps); fp16 gradients stay finite."""
    B, T, P, H, F, D = 2, 40, 12, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P, dtype=torch.float16)
    mask = _left_pad_mask(B, T, 15)   # batch 0: prefix and first 15 positions all padding
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(8))
    o, grads = _grads(lambda *a: prefix_linear_attention(*a, key_padding_mask=mask, backend="triton"),
                      (q, k, v, ke, ve), do)
    o_ref, grads_ref = _grads(lambda *a: naive.prefix_linear_attention_naive(*a, key_padding_mask=mask),
                              [x.float() for x in (q, k, v, ke, ve)], do)
    _assert_close(o.float(), o_ref, "o fp16", tol=5e-3)
    for name, g, g_ref in zip(("q", "k", "v", "k_enc", "v_enc"), grads, grads_ref):
        assert torch.isfinite(g).all(), f"d{name} not finite"
        _assert_close(g.float(), g_ref, f"d{name} fp16", tol=1e-2)


def test_transposed_readout_variant(monkeypatch):
    """The forward's TRANS_OUT=True variant (o^T = A^T phi(q)^T, an autotune choice on GPU)."""
    from jrt.ops.triton import _configs
    monkeypatch.setattr(_configs, "DEFAULT_KERNEL", "full")
    _configs.override("fwd", [({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1)])
    try:
        _check_prefix_with_state_and_mask(B=2, T=77, P=30, H=2, F=4, D=40, pad=9)
    finally:
        _configs.override("fwd", None)
