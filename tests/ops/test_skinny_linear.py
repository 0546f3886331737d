"""jrt.ops.skinny_linear (the decode step's linear layers) against a float64 x W^T + b.

On CPU the Triton kernel runs under TRITON_INTERPRET=1 (tests/conftest.py sets it without CUDA);
on a GPU the same tests run the compiled kernel in bf16 too. Shapes cover partial blocks of rows
(1..16 of the 16 the product pads to), of columns and of K.
"""
import pytest
import torch
from interpreter_mode import interpreting

pytest.importorskip("triton")

from jrt.ops.skinny_linear import MAX_ROWS, _kernel_available, skinny_linear  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.skipif(DEVICE == "cpu" and not interpreting(),
                                reason="the kernel needs CUDA or TRITON_INTERPRET=1")


def _reference(x, w, b):
    y = x.double() @ w.double().T
    return y + b.double() if b is not None else y


def _inputs(lead, n, k, bias, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*lead, k, generator=g)
    w = torch.randn(n, k, generator=g) / k ** 0.5
    b = torch.randn(n, generator=g) if bias else None
    to = lambda t: None if t is None else t.to(DEVICE, dtype)  # noqa: E731
    return to(x), to(w), to(b)


@pytest.mark.parametrize("lead", [(1,), (5,), (16,), (2, 1, 3)], ids=str)
@pytest.mark.parametrize("n,k", [(40, 100), (64, 48), (17, 33)])
@pytest.mark.parametrize("bias", [False, True])
def test_equals_float64_linear(lead, n, k, bias):
    x, w, b = _inputs(lead, n, k, bias, torch.float32)
    assert _kernel_available(x)        # the Triton kernel is what runs here, not the F.linear fallback
    with torch.no_grad():
        y = skinny_linear(x, w, b)
    assert y.shape == (*lead, n) and y.dtype == torch.float32
    ref = _reference(x, w, b)
    assert (y.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


@pytest.mark.skipif(DEVICE == "cpu", reason="bf16 tensor-core products: GPU")
def test_bf16_matches_cublas_to_rounding():
    x, w, b = _inputs((4,), 1024, 2816, True, torch.bfloat16)
    with torch.no_grad():
        y = skinny_linear(x, w, b)
        ref = torch.nn.functional.linear(x, w, b)
    exact = _reference(x, w, b)
    # both accumulate in fp32 and round once to bf16: the same error against float64
    err, err_ref = (y.double() - exact).abs().max(), (ref.double() - exact).abs().max()
    assert err <= 1.5 * err_ref + 1e-3


def test_compiled_step_keeps_one_call():
    """torch.compile treats it as one opaque op (jrt::skinny_linear) and gives the eager result."""
    x, w, b = _inputs((3,), 40, 100, True, torch.float32)
    fn = torch.compile(lambda x, w, b: torch.relu(skinny_linear(x, w, b)) * 2.0, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(fn(x, w, b), torch.relu(skinny_linear(x, w, b)) * 2.0)


def test_bad_inputs_are_refused():
    x, w, b = _inputs((MAX_ROWS + 1,), 8, 16, True, torch.float32)
    with torch.no_grad(), pytest.raises(ValueError, match="at most 16 rows"):
        skinny_linear(x, w, b)
    with torch.no_grad(), pytest.raises(ValueError, match=r"weight \[N, K\]"):
        skinny_linear(x[:2], w[:, :8], b)
    with torch.no_grad(), pytest.raises(ValueError, match="bias must be"):
        skinny_linear(x[:2], w, b[:3])
    with torch.no_grad(), pytest.raises(ValueError, match="share a dtype"):
        skinny_linear(x[:2].double(), w, b)
    with pytest.raises(ValueError, match="forward only"):
        skinny_linear(x[:2], w.requires_grad_(), b)
