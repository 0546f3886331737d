"""Layers against direct references: windowed attention vs a full masked softmax, short conv vs
torch's causal conv1d, decode continuation of each mixer."""
import pytest
import torch
from torch.nn import functional as F

from jrt.layers import (
    BasedAttention,
    PrefixLinearAttention,
    ShortConvolution,
    SlidingWindowAttention,
    blocked_window_attention,
)


@pytest.mark.parametrize("seq_len,window", [(1, 4), (7, 8), (37, 8), (64, 16)])
@pytest.mark.parametrize("slice_rows", [False, True])
def test_blocked_window_attention_equals_dense_masked_softmax(seq_len, window, slice_rows):
    batch, heads, head_dim = 3, 2, 8
    q, k, v = (torch.randn(batch, heads, seq_len, head_dim, dtype=torch.float64) for _ in range(3))
    valid = torch.ones(batch, seq_len, dtype=torch.bool)
    valid[0, : seq_len // 3] = False
    limit = heads * seq_len * 2 * window if slice_rows else 2**28   # one row per slice
    got = blocked_window_attention(q, k, v, valid, window, max_score_elements=limit)
    i, j = torch.arange(seq_len)[:, None], torch.arange(seq_len)[None]
    allowed = ((i - j >= 0) & (i - j < window))[None, None] & valid[:, None, None, :]
    scores = (q @ k.transpose(-1, -2)) / head_dim**0.5
    ref = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1) @ v
    real = valid[:, None, :, None].expand_as(ref)        # padded query rows are unspecified
    torch.testing.assert_close(got[real], ref[real])


def test_short_conv_equals_causal_conv1d_and_decodes():
    torch.manual_seed(0)
    layer = ShortConvolution(hidden_size=6, kernel_size=3).double()
    x = torch.randn(2, 11, 6, dtype=torch.float64)
    u1, u2 = layer.in_proj(x).chunk(2, -1)
    ref_conv = F.conv1d(F.pad(u1.transpose(1, 2), (2, 0)), layer.conv.weight, layer.conv.bias, groups=12)
    ref = layer.out_proj(F.silu(ref_conv.transpose(1, 2)) * u2)
    torch.testing.assert_close(layer(x), ref)
    cache = {}
    outs = [layer(x[:, :5], cache=cache)]
    for t in range(5, 11):
        outs.append(layer(x[:, t:t + 1], cache=cache))
    torch.testing.assert_close(torch.cat(outs, 1), ref)


@pytest.mark.parametrize("make", [
    lambda: BasedAttention(16, 2, 4),
    lambda: PrefixLinearAttention(16, 2, 4),
    lambda: SlidingWindowAttention(16, 2, window_size=4),
])
def test_mixers_prefill_then_decode_equals_full_forward(make):
    torch.manual_seed(0)
    layer = make().double()
    prefix = {"enc_length": 6} if isinstance(layer, PrefixLinearAttention) else {}
    x = torch.randn(2, 15, 16, dtype=torch.float64)
    full = layer(x, **prefix)
    cache = {}
    outs = [layer(x[:, :8], cache=cache, **prefix)]       # prefill covers the PLA prefix (6 tokens)
    for t in range(8, 15):
        kwargs = {"positions": torch.full((2, 1), t)} if isinstance(layer, SlidingWindowAttention) else {}
        outs.append(layer(x[:, t:t + 1], cache=cache, **kwargs))
    torch.testing.assert_close(torch.cat(outs, 1), full)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rms_norm_equals_float64_formula(dtype):
    from jrt.layers.norm import RMSNorm
    torch.manual_seed(0)
    norm = RMSNorm(48, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(48))
    norm = norm.to(dtype)
    x = (torch.randn(3, 7, 48) * 3).to(dtype)
    xd, wd = x.double(), norm.weight.double()
    ref = xd / torch.sqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-5) * wd
    out = norm(x)
    assert out.dtype == dtype and out.shape == x.shape
    tol = 1e-6 if dtype == torch.float32 else 1e-2  # bf16: one output rounding (2^-9 relative)
    assert ((out.double() - ref).abs() / ref.abs().clamp_min(1e-3)).max() < tol
