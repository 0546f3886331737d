"""fla's RMSNorm modules in PyTorch (jrt.baselines.fla_norms) against a float64 formula.

The arithmetic is checked here against the definition; that it matches fla's Triton kernels on a
real GLA is tests/gpu/test_fla_baselines.py. The swap itself is checked with stand-in fla classes,
since fla needs a GPU to run its own norms.
"""
import sys
import types

import pytest
import torch
from torch import nn

from jrt.baselines.fla_norms import rms_norm, use_torch_rms_norms


def _reference(x, w, b, eps, residual=None, gate=None, activation="swish"):
    h = x.double() + (residual.double() if residual is not None else 0)
    y = h / torch.sqrt((h ** 2).mean(-1, keepdim=True) + eps) * w.double()
    if b is not None:
        y = y + b.double()
    if gate is not None:
        g = gate.double()
        y = y * (g / (1 + torch.exp(-g)) if activation in ("swish", "silu") else 1 / (1 + torch.exp(-g)))
    return y, h


@pytest.mark.parametrize("activation", [None, "swish", "sigmoid"])
@pytest.mark.parametrize("with_residual", [False, True])
def test_rms_norm_matches_float64_definition(activation, with_residual):
    gen = torch.Generator().manual_seed(0)
    x, res, gate = (torch.randn(3, 5, 48, generator=gen) * 3 for _ in range(3))
    w, b = torch.randn(48, generator=gen), torch.randn(48, generator=gen)
    residual = res if with_residual else None
    gate = gate if activation else None
    y, h = rms_norm(x, w, b, 1e-5, residual, gate=gate, activation=activation or "swish")
    y_ref, h_ref = _reference(x, w, b, 1e-5, residual, gate, activation)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h.double(), h_ref, rtol=1e-6, atol=1e-6)


def test_rms_norm_dtypes_follow_the_kernel():
    """Output in x's dtype; residual stream in residual's dtype, or float32 when asked."""
    x = torch.randn(4, 32, dtype=torch.bfloat16)
    y, h = rms_norm(x, torch.ones(32), None, 1e-6)
    assert y.dtype == h.dtype == torch.bfloat16
    _, h32 = rms_norm(x, torch.ones(32), None, 1e-6, residual_in_fp32=True)
    assert h32.dtype == torch.float32
    _, h_res = rms_norm(x, torch.ones(32), None, 1e-6, residual=torch.randn(4, 32, dtype=torch.float16))
    assert h_res.dtype == torch.float16
    with pytest.raises(ValueError, match="unsupported gate activation"):
        rms_norm(x, None, None, 1e-6, gate=x, activation="relu")


class _KernelOnly(nn.Module):  # stands in for an fla norm: calling its own forward is an error
    def __init__(self, d):
        super().__init__()
        self.weight, self.bias, self.eps, self.activation = nn.Parameter(torch.randn(d)), None, 1e-5, "swish"

    def forward(self, *args, **kwargs):
        raise RuntimeError("Triton kernel called")


def test_swap_routes_exactly_the_fla_norm_classes(monkeypatch):
    fake = types.ModuleType("fla.modules")
    fake.RMSNorm = type("RMSNorm", (_KernelOnly,), {})
    fake.FusedRMSNormGated = type("FusedRMSNormGated", (_KernelOnly,), {})
    subclass = type("FusedRMSNormSwishGate", (fake.FusedRMSNormGated,), {})
    monkeypatch.setitem(sys.modules, "fla", types.ModuleType("fla"))
    monkeypatch.setitem(sys.modules, "fla.modules", fake)
    model = nn.ModuleDict({"norm": fake.RMSNorm(16), "gated": fake.FusedRMSNormGated(16),
                           "other": subclass(16), "linear": nn.Linear(16, 16)})
    assert use_torch_rms_norms(model) == 2
    x, r, g = torch.randn(2, 16), torch.randn(2, 16), torch.randn(2, 16)
    w = model["norm"].weight.detach()
    y, h = model["norm"](x, r, prenorm=True)
    y_ref, h_ref = _reference(x, w, None, 1e-5, r)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h.double(), h_ref, rtol=1e-6, atol=1e-6)
    wg = model["gated"].weight.detach()
    torch.testing.assert_close(model["gated"](x, g).double(), _reference(x, wg, None, 1e-5, gate=g)[0],
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="Triton kernel"):
        model["other"](x, g)  # a subclass may mean something else: left alone


def test_swap_is_a_no_op_without_fla(monkeypatch):
    monkeypatch.setitem(sys.modules, "fla", None)  # import fla raises ImportError
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    assert use_torch_rms_norms(model) == 0
