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
    """torch.compile traces it as one opaque op (jrt::skinny_linear in the graph, no mm) and the compiled
    function gives the eager result."""
    x, w, b = _inputs((3,), 40, 100, True, torch.float32)
    graphs = []

    def keep_graph(gm, example_inputs):
        graphs.append(str(gm.graph))
        return gm.forward

    def fn(x, w, b):
        return torch.relu(skinny_linear(x, w, b)) * 2.0

    with torch.no_grad():
        torch.compile(fn, backend=keep_graph, fullgraph=True)(x, w, b)
        torch.testing.assert_close(torch.compile(fn, fullgraph=True)(x, w, b), fn(x, w, b))
    assert len(graphs) == 1 and "jrt.skinny_linear" in graphs[0] and "mm" not in graphs[0].replace("jrt", "")


def test_non_contiguous_weight_and_bias():
    x, w, b = _inputs((2,), 40, 100, True, torch.float32)
    w_t = w.T.contiguous().T                       # same values, column-major
    b_strided = torch.stack([b, torch.zeros_like(b)], 1)[:, 0]
    assert not w_t.is_contiguous() and not b_strided.is_contiguous()
    with torch.no_grad():
        y = skinny_linear(x, w_t, b_strided)
    ref = _reference(x, w, b)
    assert (y.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


def _autocast_linear(x, w, b):
    with torch.autocast(x.device.type, dtype=torch.bfloat16):
        return torch.nn.functional.linear(x, w, b)


def test_mode_routes_only_what_the_kernel_takes():
    """SkinnyLinearMode: F.linear calls of <= 16 rows (positional or keyword) run jrt::skinny_linear;
    more rows, autocast (which changes F.linear's output dtype), float64, and anything that needs a
    gradient stay F.linear, with F.linear's result."""
    from torch.profiler import profile

    from jrt.ops.skinny_linear import SkinnyLinearMode
    F = torch.nn.functional
    x, w, b = _inputs((4,), 40, 100, True, torch.float32)
    big, _, _ = _inputs((MAX_ROWS + 1,), 40, 100, False, torch.float32)
    cases = [("positional", lambda: F.linear(x, w, b), True),
             ("keywords", lambda: F.linear(input=x, weight=w, bias=b), True),
             ("17 rows", lambda: F.linear(big, w, b), False),
             ("autocast", lambda: _autocast_linear(x, w, b), False),
             ("float64", lambda: F.linear(x.double(), w.double(), b.double()), False),
             ("needs grad", lambda: F.linear(x, w.clone().requires_grad_(), b), False)]
    for name, call, routed in cases:
        with torch.no_grad() if name != "needs grad" else torch.enable_grad():
            ref = call()
            with profile() as prof, SkinnyLinearMode():
                out = call()
        ran = any(e.name == "jrt::skinny_linear" for e in prof.events())
        assert ran == routed, name
        assert out.dtype == ref.dtype and torch.allclose(out.float(), ref.float(), rtol=1e-5, atol=1e-5), name


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


def test_autotune_sets_by_mode(monkeypatch):
    """The GPU autotune set: 8 configs by default, the first alone with JRT_TRITON_AUTOTUNE=first, and
    with =full the default plus deeper pipelines (BLOCK_K 512, 4 stages, 8 warps), no config twice."""
    import jrt.ops.triton.skinny_linear as kernel

    monkeypatch.setattr(kernel, "INTERPRET", False)
    key = lambda c: (c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_warps, c.num_stages)  # noqa: E731
    monkeypatch.delenv("JRT_TRITON_AUTOTUNE", raising=False)
    default = [key(c) for c in kernel._configs()]
    assert len(default) == 8 and all(bk in (128, 256) for _, bk, _, _ in default)
    monkeypatch.setenv("JRT_TRITON_AUTOTUNE", "first")
    assert [key(c) for c in kernel._configs()] == default[:1]
    monkeypatch.setenv("JRT_TRITON_AUTOTUNE", "full")
    full = [key(c) for c in kernel._configs()]
    assert full[:8] == default and len(set(full)) == len(full)
    assert {(512, 4), (512, 3)} <= {(bk, s) for _, bk, _, s in full} and any(w == 8 for _, _, w, _ in full)
