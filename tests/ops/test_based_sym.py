"""The experimental symmetric Based forward (jrt.ops.triton.based_sym) under the interpreter, vs jrt.ops.naive.

Small shapes on CPU (TRITON_INTERPRET=1, set by the root conftest when there is no CUDA). The
interpreter config is BT = 16, BD = 32 (based_sym.SYM_INTERPRET); other configs (TRANS_OUT,
STATE_T, BT = 32) are launched through `config=`. T in {1, 37, 50} is never a multiple of the chunk; D in {40, 64}
gives a partial value block and two full ones.

Tolerances (max |error| / max |reference|; the reference is naive in float64 on the same rounded
inputs):
  fp32 inputs: 1e-4 for o, S, z (IEEE products everywhere; observed <= 4e-7).
  bf16 inputs: o 3e-2, S and z 3e-3. Every product with the state has bf16 operands (q x q
    features and the fp32 state rounded to bf16, unit roundoff 2^-9 each) and o is stored in bf16;
    observed 1.0e-2 for o, 4e-4 for S (only the bf16-rounded k x k features enter it, accumulated
    in fp32), 1e-7 for z. The interpreter's own bf16 arithmetic is broken (it multiplies the raw
    uint16 bits), so the kernel's EMU switch runs these cases on bf16-rounded operands held in fp32.
  fp16 inputs: o 2e-3 (fp16 output rounding; observed 1.9e-4), S and z 1e-4 (observed 1.2e-7: the
    interpreter runs the state products in IEEE fp32 where the GPU uses tf32).
"""
import pytest
import torch

from interpreter_mode import interpreting as _interpreting

triton = pytest.importorskip("triton")

from jrt.ops import naive  # noqa: E402

ON_GPU = torch.cuda.is_available()
pytestmark = pytest.mark.skipif(not (_interpreting() or ON_GPU),
                                reason="needs CUDA, or TRITON_INTERPRET=1 before the kernels are defined (run this module alone)")
DEV = "cuda" if ON_GPU else "cpu"

from jrt.ops.triton.based_sym import based_fwd_sym  # noqa: E402

TRANS = dict(BT=32, BD=32, TRANS_OUT=True, num_warps=4, num_stages=1)   # the H100 favourite
PLAIN32 = dict(BT=32, BD=32, TRANS_OUT=False, num_warps=4, num_stages=1)
STATE_T = dict(BT=16, BD=32, STATE_T=True, num_warps=4, num_stages=1)   # state held transposed


def _rel_err(x, ref):
    return ((x.double() - ref.double()).abs().max() / ref.double().abs().max().clamp_min(1e-30)).item()


def _check(x, ref, name, tol):
    assert x.shape == ref.shape, f"{name}: shape {tuple(x.shape)} != {tuple(ref.shape)}"
    assert torch.isfinite(x).all(), f"{name}: not finite"
    err = _rel_err(x, ref)
    assert err < tol, f"{name}: max relative error {err:.3g} >= {tol}"


def _inputs(B, T, H, F, D, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(1000 + seed + T + 7 * F + D)
    mk = lambda *s: (torch.randn(*s, generator=g) * 0.5).to(dtype)  # noqa: E731
    return mk(B, T, H, F), mk(B, T, H, F), mk(B, T, H, D)


def _init_state(B, H, F, D):
    """A random (hence non-symmetric in its quadratic rows) phi-space state."""
    E = 1 + F + F * F
    g = torch.Generator().manual_seed(99)
    return torch.randn(B, H, E, D, generator=g) * 0.3, torch.rand(B, H, E, generator=g) + 0.5


def _mask(B, T):
    """Batch 0: left padding of 9 and a hole; batch 1 (if any): all real."""
    m = torch.ones(B, T, dtype=torch.bool)
    m[0, :9] = False
    m[0, T // 2: T // 2 + 3] = False
    return m


def _run(q, k, v, tol_o, tol_s, config=None, segments=None, **kw):
    """Kernel on DEV (the GPU when there is one), the naive reference in fp32 on the CPU."""
    to_dev = lambda x: x.to(DEV) if isinstance(x, torch.Tensor) else tuple(t.to(DEV) for t in x)  # noqa: E731
    o, state = based_fwd_sym(q.to(DEV), k.to(DEV), v.to(DEV), config=config, segments=segments,
                             **{n: to_dev(x) for n, x in kw.items()})
    o, state = o.cpu(), tuple(s.cpu() for s in state)
    # float64 reference: at T = 256 the naive formula in fp32 is itself ~1e-4 off (the kernel ~1e-5)
    kw64 = {n: (tuple(t.double() for t in x) if n == "initial_state" else x) for n, x in kw.items()}
    o_ref, (s_ref, z_ref) = naive.based_linear_attention_naive(q.double(), k.double(), v.double(),
                                                               output_final_state=True, **kw64)
    assert o.dtype == v.dtype and state[0].dtype == torch.float32 and state[1].dtype == torch.float32
    _check(o.float(), o_ref, "o", tol_o)
    _check(state[0], s_ref, "S", tol_s)
    _check(state[1], z_ref, "z", tol_s)


@pytest.mark.parametrize("T,D,config", [(1, 40, None), (37, 40, None), (37, 64, TRANS), (50, 64, PLAIN32),
                                        (37, 40, STATE_T)])
def test_fp32_plain(T, D, config):
    q, k, v = _inputs(2, T, 2, 16, D)
    _run(q, k, v, 1e-4, 1e-4, config=config)


@pytest.mark.parametrize("config", [None, TRANS, STATE_T])
def test_fp32_mask_and_initial_state(config):
    B, T, H, F, D = 2, 50, 2, 16, 40
    q, k, v = _inputs(B, T, H, F, D)
    _run(q, k, v, 1e-4, 1e-4, config=config, key_padding_mask=_mask(B, T), initial_state=_init_state(B, H, F, D))


@pytest.mark.parametrize("F,config", [(5, TRANS), (8, STATE_T)])
def test_fp32_other_feature_dims(F, config):
    """F < 16: odd F splits 3 + 2, the halves' padding is masked."""
    B, T, H, D = 1, 37, 2, 32
    q, k, v = _inputs(B, T, H, F, D)
    _run(q, k, v, 1e-4, 1e-4, config=config, key_padding_mask=_mask(B, T), initial_state=_init_state(B, H, F, D))


@pytest.mark.parametrize("config", [None, TRANS, STATE_T])
def test_bf16_mask_and_initial_state(config):
    B, T, H, F, D = 2, 50, 2, 16, 64
    q, k, v = _inputs(B, T, H, F, D, dtype=torch.bfloat16)
    _run(q, k, v, 3e-2, 3e-3, config=config, key_padding_mask=_mask(B, T), initial_state=_init_state(B, H, F, D))


def test_fp16_mask_and_initial_state():
    B, T, H, F, D = 1, 37, 2, 16, 32
    q, k, v = _inputs(B, T, H, F, D, dtype=torch.float16)
    # on a GPU the fp16 path's state products run in tf32 (10-bit mantissa): S, z to 2e-3 there
    _run(q, k, v, 2e-3, 2e-3 if ON_GPU else 1e-4, key_padding_mask=_mask(B, T), initial_state=_init_state(B, H, F, D))


def test_no_state_and_bad_feature_dim():
    q, k, v = _inputs(1, 20, 2, 16, 32)
    o, state = based_fwd_sym(q.to(DEV), k.to(DEV), v.to(DEV), return_state=False)
    assert state is None
    o_ref, _ = naive.based_linear_attention_naive(q, k, v)
    _check(o.cpu(), o_ref, "o", 1e-4)
    q, k, v = _inputs(1, 4, 1, 17, 16)
    with pytest.raises(ValueError, match="feature dim"):
        based_fwd_sym(q, k, v)


@pytest.mark.parametrize("segments,T", [(3, 150), (2, 150), (4, 256)])
def test_segments_equal_one_pass(segments, T):
    """The segmented path (state-only pass, exclusive prefix sums, segments as batch rows) against the
    naive reference: padding mask, a non-symmetric initial state, T not a multiple of the segment."""
    B, H, F, D = 2, 2, 16, 32
    q, k, v = _inputs(B, T, H, F, D)
    _run(q, k, v, 1e-4, 1e-4, segments=segments, key_padding_mask=_mask(B, T),
         initial_state=_init_state(B, H, F, D))
    o, state = based_fwd_sym(q.to(DEV), k.to(DEV), v.to(DEV), segments=segments, return_state=False)
    assert state is None
    _check(o.cpu(), naive.based_linear_attention_naive(q, k, v)[0], "o", 1e-4)


def test_segments_fp16_and_bad_value():
    B, T, H, F, D = 1, 140, 2, 16, 32
    q, k, v = _inputs(B, T, H, F, D, dtype=torch.float16)
    _run(q, k, v, 2e-3, 2e-3 if ON_GPU else 1e-4, segments=3, key_padding_mask=_mask(B, T))
    with pytest.raises(ValueError, match="segments"):
        based_fwd_sym(q.to(DEV), k.to(DEV), v.to(DEV), segments=0)
