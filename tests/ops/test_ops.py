"""jrt.ops: the chunked torch path against naive.py, naive.py against float64 formulas,
decode continuation, padding invariance, gradients, and input validation."""
import math

import pytest
import torch

from jrt.ops import based_decode_step, based_linear_attention, empty_state, prefix_linear_attention, taylor_feature_map
from jrt.ops.based import CHUNK_SIZE


def rel_err(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30)).item()


def make_inputs(batch=2, seq_len=70, heads=3, feature_dim=4, head_dim=8, prefix_len=0, dtype=torch.float32):
    q = torch.randn(batch, seq_len, heads, feature_dim, dtype=dtype)
    k = torch.randn(batch, seq_len, heads, feature_dim, dtype=dtype)
    v = torch.randn(batch, seq_len, heads, head_dim, dtype=dtype)
    k_enc = torch.randn(batch, prefix_len, heads, feature_dim, dtype=dtype)
    v_enc = torch.randn(batch, prefix_len, heads, head_dim, dtype=dtype)
    return q, k, v, k_enc, v_enc


def random_state(batch, heads, feature_dim, head_dim, dtype=torch.float32):
    expanded = 1 + feature_dim + feature_dim**2
    return torch.randn(batch, heads, expanded, head_dim, dtype=dtype), torch.rand(batch, heads, expanded, dtype=dtype) * 5


def formula_float64(q, k, v, k_enc=None, v_enc=None, initial_state=None, mask=None, eps=1e-12, prefix_mask=None):
    """docs/DESIGN.md's formulas written with the kernel form 1 + qk/sqrt(F) + (qk)^2/(2F), in float64,
    with explicit Python loops over positions (independent of naive.py's matrix form)."""
    q, k, v = q.double(), k.double(), v.double()
    batch, seq_len, heads, feature_dim = q.shape

    def kernel(qt, ks):  # qt [F], ks [S, F] -> [S]
        dots = ks @ qt
        return 1 + dots / math.sqrt(feature_dim) + dots**2 / (2 * feature_dim)

    out = torch.zeros(batch, seq_len, heads, v.shape[-1], dtype=torch.float64)
    for b in range(batch):
        for h in range(heads):
            keep = torch.ones(seq_len, dtype=torch.float64) if mask is None else mask[b].double()
            for t in range(seq_len):
                w = kernel(q[b, t, h], k[b, : t + 1, h]) * keep[: t + 1]
                num, den = w @ v[b, : t + 1, h], w.sum()
                if k_enc is not None and k_enc.shape[1] > 0:
                    prefix_len = k_enc.shape[1]
                    keep_enc = keep[:prefix_len] if prefix_mask is None else prefix_mask[b].double()
                    we = kernel(q[b, t, h], k_enc[b, :, h].double()) * keep_enc
                    num, den = num + we @ v_enc[b, :, h].double(), den + we.sum()
                if initial_state is not None:
                    s0, z0 = initial_state
                    f = q[b, t, h]
                    phi_q = torch.cat([torch.ones(1, dtype=torch.float64), f / feature_dim**0.25,
                                       torch.outer(f, f).flatten() / (math.sqrt(2) * math.sqrt(feature_dim))])
                    num, den = num + phi_q @ s0[b, h].double(), den + phi_q @ z0[b, h].double()
                out[b, t, h] = num / (den + eps)
    return out


# ---------------------------------------------------------------------------------------------
# feature map


def test_taylor_feature_map_dot_is_taylor_series_of_exp():
    x, y = torch.randn(50, 16, dtype=torch.float64), torch.randn(50, 16, dtype=torch.float64)
    got = (taylor_feature_map(x) * taylor_feature_map(y)).sum(-1)
    s = (x * y).sum(-1) / 4.0
    assert taylor_feature_map(x).shape == (50, 273)
    torch.testing.assert_close(got, 1 + s + s**2 / 2, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# naive.py against float64 formulas

@pytest.mark.parametrize("with_prefix", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_naive_equals_float64_formula(with_prefix, with_state, with_mask):
    q, k, v, k_enc, v_enc = make_inputs(batch=2, seq_len=9, heads=2, feature_dim=3, head_dim=4,
                                        prefix_len=5 if with_prefix else 0)
    state = random_state(2, 2, 3, 4) if with_state else None
    mask = None
    if with_mask:
        mask = torch.ones(2, 9, dtype=torch.bool)
        mask[1, :3] = False
    if with_prefix:
        o, _ = prefix_linear_attention(q, k, v, k_enc, v_enc, initial_state=state, key_padding_mask=mask, backend="naive")
    else:
        o, _ = based_linear_attention(q, k, v, initial_state=state, key_padding_mask=mask, backend="naive")
    ref = formula_float64(q, k, v, k_enc if with_prefix else None, v_enc, state, mask)
    assert rel_err(o, ref) < 1e-5


def row_prefix_mask(mask, enc_length):
    """Each row's own first enc_length real tokens (what jrt.layers.prefix_mask computes), independently."""
    out = torch.zeros_like(mask)
    for b in range(mask.shape[0]):
        real = mask[b].nonzero().flatten()[:enc_length]
        out[b, real] = True
    return out


def test_prefix_mask_gives_each_row_its_own_prefix():
    """A left-padded batch: row 1 has 4 pads, so its first 3 real tokens sit in columns 4..6, and
    column 3 (a pad) and columns 7.. (real, but past its prefix) must not count as prefix."""
    q, k, v, k_enc, v_enc = make_inputs(batch=2, seq_len=12, heads=2, feature_dim=3, head_dim=4, prefix_len=7)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, :4] = False
    pmask = row_prefix_mask(mask, 3)[:, :7]
    assert pmask[0].tolist() == [True] * 3 + [False] * 4 and pmask[1].tolist() == [False] * 4 + [True] * 3
    ref = formula_float64(q, k, v, k_enc, v_enc, None, mask, prefix_mask=pmask)
    for backend in ("naive", "torch"):
        o, _ = prefix_linear_attention(q, k, v, k_enc, v_enc, key_padding_mask=mask, prefix_mask=pmask,
                                       backend=backend)
        assert rel_err(o, ref) < 1e-5, backend
    # the same rows alone, unpadded, with the prefix as their own first 3 tokens
    o, _ = prefix_linear_attention(q, k, v, k_enc, v_enc, key_padding_mask=mask, prefix_mask=pmask, backend="naive")
    alone, _ = prefix_linear_attention(q[1:, 4:], k[1:, 4:], v[1:, 4:], k_enc[1:, 4:7], v_enc[1:, 4:7],
                                       backend="naive")
    assert rel_err(o[1:, 4:], alone) < 1e-5
    with pytest.raises(ValueError, match="prefix_mask must have shape"):
        prefix_linear_attention(q, k, v, k_enc, v_enc, prefix_mask=pmask[:, :5])


def test_naive_state_is_sum_of_features_times_values():
    q, k, v, _, _ = make_inputs(batch=1, seq_len=6, heads=1, feature_dim=3, head_dim=2, dtype=torch.float64)
    _, (s, z) = based_linear_attention(q, k, v, output_final_state=True, backend="naive")
    phi_k = taylor_feature_map(k[0, :, 0])
    torch.testing.assert_close(s[0, 0], phi_k.T @ v[0, :, 0])
    torch.testing.assert_close(z[0, 0], phi_k.sum(0))


# ---------------------------------------------------------------------------------------------
# chunked torch path against naive

CASES = [  # (T, P)
    (1, 0), (1, 1), (CHUNK_SIZE, 0), (CHUNK_SIZE + 7, 0), (3 * CHUNK_SIZE - 5, 0),
    (70, 1), (70, 33), (70, 70), (130, 64),
]


@pytest.mark.parametrize("seq_len,prefix_len", CASES)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_chunked_equals_naive(seq_len, prefix_len, with_state, with_mask):
    q, k, v, k_enc, v_enc = make_inputs(seq_len=seq_len, prefix_len=prefix_len)
    state = random_state(2, 3, 4, 8) if with_state else None
    mask = None
    if with_mask:  # left padding of different lengths; never a fully padded row
        mask = torch.ones(2, seq_len, dtype=torch.bool)
        mask[0, : seq_len // 3] = False
    kwargs = dict(initial_state=state, key_padding_mask=mask, output_final_state=True)
    for op_args in ((q, k, v), (q, k, v, k_enc, v_enc)):
        op = based_linear_attention if len(op_args) == 3 else prefix_linear_attention
        o_ref, (s_ref, z_ref) = op(*op_args, backend="naive", **kwargs)
        o, (s, z) = op(*op_args, backend="torch", **kwargs)
        assert s.dtype == torch.float32 and z.dtype == torch.float32
        assert rel_err(o, o_ref) < 1e-4
        assert rel_err(s, s_ref) < 1e-4
        assert rel_err(z, z_ref) < 1e-4


def test_states_are_float32_for_half_inputs():
    q, k, v, k_enc, v_enc = make_inputs(seq_len=20, prefix_len=4, dtype=torch.bfloat16)
    o, (s, z) = prefix_linear_attention(q, k, v, k_enc, v_enc, output_final_state=True)
    assert o.dtype == torch.bfloat16 and s.dtype == torch.float32 and z.dtype == torch.float32


def test_chunked_memory_is_linear_in_sequence_length():
    """The chunked path never builds a T x T matrix: a long sequence runs in small memory."""
    q, k, v, _, _ = make_inputs(batch=1, seq_len=16384, heads=1, feature_dim=4, head_dim=8)
    o, _ = based_linear_attention(q, k, v, backend="torch")   # naive would need 16384^2 floats (1 GiB)
    tail, _ = based_linear_attention(q[:, :100], k[:, :100], v[:, :100], backend="naive")
    assert rel_err(o[:, :100], tail) < 1e-4


# ---------------------------------------------------------------------------------------------
# gradients


@pytest.mark.parametrize("prefix_len", [0, 3])
def test_chunked_gradients_gradcheck(prefix_len, monkeypatch):
    import jrt.ops.based as based_module
    monkeypatch.setattr(based_module, "CHUNK_SIZE", 4)  # several chunks at a gradcheck-sized T
    q, k, v, k_enc, v_enc = make_inputs(batch=1, seq_len=7, heads=1, feature_dim=2, head_dim=3,
                                        prefix_len=prefix_len, dtype=torch.float64)
    mask = torch.tensor([[False, True, True, True, True, True, True]])
    inputs = [t.clone().requires_grad_() for t in (q, k, v, k_enc, v_enc)]

    def fn(q, k, v, k_enc, v_enc):
        return prefix_linear_attention(q, k, v, k_enc, v_enc, key_padding_mask=mask, backend="torch")[0]

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6)


def test_chunked_gradients_match_naive():
    q, k, v, k_enc, v_enc = make_inputs(seq_len=75, prefix_len=20)
    grads = {}
    for backend in ("naive", "torch"):
        inputs = [t.clone().requires_grad_() for t in (q, k, v, k_enc, v_enc)]
        o, (s, z) = prefix_linear_attention(*inputs, output_final_state=True, backend=backend)
        (o.square().sum() + s.sum() * 1e-3 + z.sum() * 1e-3).backward()
        grads[backend] = [t.grad for t in inputs]
    for g_torch, g_naive in zip(grads["torch"], grads["naive"]):
        assert rel_err(g_torch, g_naive) < 1e-4


# ---------------------------------------------------------------------------------------------
# decode continuation and padding invariance


@pytest.mark.parametrize("prefix_len", [0, 10])
def test_prefill_then_decode_equals_whole_sequence(prefix_len):
    q, k, v, k_enc, v_enc = make_inputs(seq_len=40, prefix_len=prefix_len)
    split = 25
    if prefix_len:
        o_all, state_all = prefix_linear_attention(q, k, v, k_enc, v_enc, output_final_state=True)
        o_pre, state = prefix_linear_attention(q[:, :split], k[:, :split], v[:, :split], k_enc, v_enc,
                                               output_final_state=True)
    else:
        o_all, state_all = based_linear_attention(q, k, v, output_final_state=True)
        o_pre, state = based_linear_attention(q[:, :split], k[:, :split], v[:, :split], output_final_state=True)
    outs = [o_pre]
    for t in range(split, 40):
        o_t, state = based_decode_step(q[:, t], k[:, t], v[:, t], state)
        outs.append(o_t.unsqueeze(1))
    assert rel_err(torch.cat(outs, 1), o_all) < 1e-4
    assert rel_err(state[0], state_all[0]) < 1e-4 and rel_err(state[1], state_all[1]) < 1e-4


def test_decode_from_empty_state_equals_prefill():
    q, k, v, _, _ = make_inputs(seq_len=12)
    state = empty_state(2, 3, 4, 8)
    outs = []
    for t in range(12):
        o_t, state = based_decode_step(q[:, t], k[:, t], v[:, t], state)
        outs.append(o_t)
    o_ref, _ = based_linear_attention(q, k, v, backend="naive")
    assert rel_err(torch.stack(outs, 1), o_ref) < 1e-4


@pytest.mark.parametrize("backend", ["naive", "torch"])
def test_left_padding_invariance(backend):
    q, k, v, k_enc, v_enc = make_inputs(batch=1, seq_len=30, prefix_len=12)
    pad = 9
    padded = [torch.cat([torch.randn(1, pad, *t.shape[2:]) * 100, t], dim=1) for t in (q, k, v, k_enc, v_enc)]
    mask = torch.ones(1, 30 + pad, dtype=torch.bool)
    mask[:, :pad] = False
    # the prefix is the first P + pad positions of the padded sequence (pads included, masked)
    o_ref, s_ref = prefix_linear_attention(q, k, v, k_enc, v_enc, output_final_state=True, backend=backend)
    o_pad, s_pad = prefix_linear_attention(*padded, output_final_state=True, key_padding_mask=mask, backend=backend)
    assert rel_err(o_pad[:, pad:], o_ref) < 1e-4
    assert rel_err(s_pad[0], s_ref[0]) < 1e-4
    o_ref, _ = based_linear_attention(q, k, v, backend=backend)
    o_pad, _ = based_linear_attention(*padded[:3], key_padding_mask=mask, backend=backend)
    assert rel_err(o_pad[:, pad:], o_ref) < 1e-4


# ---------------------------------------------------------------------------------------------
# validation


def test_bad_inputs_raise_clear_value_errors():
    q, k, v, k_enc, v_enc = make_inputs(seq_len=10, prefix_len=4)
    with pytest.raises(ValueError, match="q must have rank 4"):
        based_linear_attention(q[0], k, v)
    with pytest.raises(ValueError, match="q and k must have the same shape"):
        based_linear_attention(q, k[:, :5], v)
    with pytest.raises(ValueError, match="v must be"):
        based_linear_attention(q, k, v[:, :, :2])
    with pytest.raises(ValueError, match="one dtype"):
        based_linear_attention(q, k, v.double())
    with pytest.raises(ValueError, match="floating-point"):
        based_linear_attention(q, k, v.long())
    with pytest.raises(ValueError, match="empty"):
        based_linear_attention(q[:, :0], k[:, :0], v[:, :0])
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        based_linear_attention(q, k, v, key_padding_mask=torch.ones(2, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask must be bool"):
        based_linear_attention(q, k, v, key_padding_mask=torch.full((2, 10), 0.5))
    with pytest.raises(ValueError, match="initial_state"):
        based_linear_attention(q, k, v, initial_state=(torch.zeros(2, 3, 5, 8), torch.zeros(2, 3, 5)))
    with pytest.raises(ValueError, match="backend"):
        based_linear_attention(q, k, v, backend="cuda")
    with pytest.raises(ValueError, match=r"P=11 .* exceeds T=10"):
        prefix_linear_attention(q, k, v, torch.randn(2, 11, 3, 4), torch.randn(2, 11, 3, 8))
    with pytest.raises(ValueError, match="v_enc must be"):
        prefix_linear_attention(q, k, v, k_enc, v_enc[:, :3])
    with pytest.raises(ValueError, match="k_enc must be"):
        prefix_linear_attention(q, k, v, k_enc[..., :2], v_enc)
    with pytest.raises(ValueError, match="state is required"):
        based_decode_step(q[:, 0], k[:, 0], v[:, 0], None)
    with pytest.raises(ValueError, match="q must have rank 3"):
        based_decode_step(q, k[:, 0], v[:, 0], empty_state(2, 3, 4, 8))
