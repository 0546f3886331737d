"""The symmetric forward and the chunk-parallel schedule as production paths, and the per-architecture
config selection.

Interpreter part (CPU, TRITON_INTERPRET=1; float64 reference jrt.ops.naive on the same inputs):
kernel in {"sym", "full"} x schedule in {"walk", "chunk"} through the public ops, forward, final
state and gradients (q, k, v, and k_enc, v_enc for PLA), with left padding, an initial state and
per-row prefix masks. The chunk-parallel segment is shrunk to 64 tokens so T = 150 spans three
segments with a partial last one; D = 40 gives two backward value blocks (and D + 1 = 41 columns in
the reverse state pass). Tolerance 1e-4 relative (max error / max reference): fp32 products only.

Selection part (no kernels run): capability (9, 0) picks the sm_90 sweep winners, others the generic
set; the environment and override() take precedence; plan() resolves kernel=None / schedule=None.
"""
import pytest
import torch

from interpreter_mode import interpreting as _interpreting

triton = pytest.importorskip("triton")

from jrt.ops import based_linear_attention, naive, prefix_linear_attention  # noqa: E402
from jrt.ops.triton import _configs, based_chunk  # noqa: E402

interpreter_only = pytest.mark.skipif(not _interpreting(), reason="needs TRITON_INTERPRET=1 (run this module alone)")
TOL = 1e-4


def _rel_err(x, ref):
    return ((x.double() - ref.double()).abs().max() / ref.double().abs().max().clamp_min(1e-30)).item()


def _close(x, ref, name, tol=TOL):
    assert x.shape == ref.shape, f"{name}: shape {tuple(x.shape)} != {tuple(ref.shape)}"
    assert torch.isfinite(x).all(), f"{name}: not finite"
    err = _rel_err(x, ref)
    assert err < tol, f"{name}: max relative error {err:.3g} >= {tol}"


def _inputs(B, T, H, F, D, P=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.5  # noqa: E731
    out = [mk(B, T, H, F), mk(B, T, H, F), mk(B, T, H, D)]
    if P:
        out += [mk(B, P, H, F), mk(B, P, H, D)]
    return out


def _init_state(B, H, F, D):
    """A state that earlier tokens could have left (a random one can make phi(q).z0 <= 0: no real den)."""
    k0, _, v0 = _inputs(B, 20, H, F, D, seed=99)
    return naive.based_linear_attention_naive(k0, k0, v0, output_final_state=True)[1]


def _run(fn, tensors, do, dtype):
    xs = [t.to(dtype).detach().clone().requires_grad_(True) for t in tensors]
    o, state = fn(*xs)
    (o * do.to(o.dtype)).sum().backward()
    return o.detach(), state, [x.grad for x in xs]


@pytest.fixture
def short_segments(monkeypatch):
    """Chunk-parallel segments of 64 tokens, so short test sequences span several."""
    monkeypatch.setattr(_configs, "CHUNK_PARALLEL_SEG", 64)
    monkeypatch.delenv("JRT_TRITON_SEGMENTS", raising=False)


# ---------------------------------------------------------------------------------------------
# interpreter: forward, state, gradients
# ---------------------------------------------------------------------------------------------
@interpreter_only
@pytest.mark.parametrize("kernel", ["sym", "full"])
@pytest.mark.parametrize("schedule", ["chunk", "walk"])
@pytest.mark.parametrize("T,D", [(150, 8), (130, 40)])
def test_based_forward_state_gradients(kernel, schedule, T, D, short_segments):
    B, H, F = 2, 2, 4
    q, k, v = _inputs(B, T, H, F, D, seed=T + D)
    init = _init_state(B, H, F, D)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[0, :23] = False
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    kw = dict(initial_state=init, output_final_state=True, key_padding_mask=mask)
    o_ref, (s_ref, z_ref), g_ref = _run(lambda *a: naive.based_linear_attention_naive(*a, **kw), (q, k, v), do,
                                        torch.float64)
    kw32 = dict(kw, initial_state=tuple(x.float() for x in init))
    o, (s, z), g = _run(lambda *a: based_linear_attention(*a, **kw32, backend="triton", kernel=kernel,
                                                          schedule=schedule), (q, k, v), do, torch.float32)
    _close(o, o_ref, "o")
    _close(s, s_ref, "S")
    _close(z, z_ref, "z")
    for name, x, ref in zip("qkv", g, g_ref):
        _close(x, ref, f"d{name}")


@interpreter_only
@pytest.mark.parametrize("kernel,schedule", [("sym", "chunk"), ("sym", "walk"), ("full", "chunk")])
def test_prefix_forward_state_gradients(kernel, schedule, short_segments):
    """PLA (JRT-RNN) with per-row prefix masks, left padding and an initial state."""
    B, T, P, H, F, D = 2, 140, 70, 2, 4, 8
    q, k, v, ke, ve = _inputs(B, T, H, F, D, P=P, seed=11)
    init = _init_state(B, H, F, D)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, :9] = False
    prefix_mask = torch.zeros(B, P, dtype=torch.bool)
    prefix_mask[0, :50] = True
    prefix_mask[1, 9:P] = True
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    kw = dict(initial_state=init, output_final_state=True, key_padding_mask=mask, prefix_mask=prefix_mask)
    o_ref, (s_ref, z_ref), g_ref = _run(lambda *a: naive.prefix_linear_attention_naive(*a, **kw),
                                        (q, k, v, ke, ve), do, torch.float64)
    kw32 = dict(kw, initial_state=tuple(x.float() for x in init))
    o, (s, z), g = _run(lambda *a: prefix_linear_attention(*a, **kw32, backend="triton", kernel=kernel,
                                                           schedule=schedule), (q, k, v, ke, ve), do, torch.float32)
    _close(o, o_ref, "o")
    _close(s, s_ref, "S")
    _close(z, z_ref, "z")
    for name, x, ref in zip(("q", "k", "v", "k_enc", "v_enc"), g, g_ref):
        _close(x, ref, f"d{name}")


@interpreter_only
def test_jrt_prompt_twice_read_sym_chunk(short_segments):
    """JRT-Prompt: Based over the context read twice (2T), no state, default kernel and schedule."""
    B, T, H, F, D = 1, 70, 2, 4, 8
    q, k, v = _inputs(B, T, H, F, D, seed=3)
    q2, k2, v2 = (torch.cat([x, x], dim=1) for x in (q, k, v))
    o_ref, _ = naive.based_linear_attention_naive(q2, k2, v2)
    o, state = based_linear_attention(q2.float(), k2.float(), v2.float(), backend="triton")
    assert state is None
    _close(o, o_ref, "o")


@interpreter_only
def test_sym_fp16_chunk_forward(short_segments):
    B, T, H, F, D = 2, 150, 2, 4, 8
    q, k, v = (x.half() for x in _inputs(B, T, H, F, D, seed=4))
    o_ref, (s_ref, _) = naive.based_linear_attention_naive(q.double(), k.double(), v.double(), output_final_state=True)
    o, (s, _) = based_linear_attention(q, k, v, output_final_state=True, backend="triton", kernel="sym",
                                       schedule="chunk")
    assert o.dtype == torch.float16
    _close(o.float(), o_ref, "o fp16", tol=2e-3)
    _close(s, s_ref, "S fp16", tol=1e-4)


def test_bad_kernel_or_schedule_rejected():
    q = torch.zeros(1, 4, 1, 4)
    v = torch.zeros(1, 4, 1, 8)
    with pytest.raises(ValueError, match="kernel"):
        based_linear_attention(q, q, v, kernel="fast")
    with pytest.raises(ValueError, match="schedule"):
        prefix_linear_attention(q, q, v, q[:, :2], v[:, :2], schedule="parallel")


@pytest.mark.parametrize("backend", ["naive", "torch"])
def test_kernel_and_schedule_ignored_by_other_backends(backend):
    q, k, v, ke, ve = (x.float() for x in _inputs(1, 9, 2, 4, 8, P=3, seed=8))
    o, _ = based_linear_attention(q, k, v, backend=backend, kernel="full", schedule="chunk")
    _close(o, based_linear_attention(q, k, v, backend=backend)[0], "based")
    o, _ = prefix_linear_attention(q, k, v, ke, ve, backend=backend, kernel="sym", schedule="walk")
    _close(o, prefix_linear_attention(q, k, v, ke, ve, backend=backend)[0], "pla")


# ---------------------------------------------------------------------------------------------
# selection logic
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def fake_gpu(monkeypatch):
    """Pretend a CUDA device of a given capability exists (no kernel is launched)."""
    for name in ("JRT_TRITON_FWD_CONFIGS", "JRT_TRITON_BWD_CONFIGS", "JRT_TRITON_SYM_CONFIGS",
                 "JRT_TRITON_AUTOTUNE", "JRT_TRITON_SEGMENTS"):
        monkeypatch.delenv(name, raising=False)

    def set_capability(cap):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: cap)
        return torch.device("cuda", 0)
    return set_capability


@pytest.mark.parametrize("kind", ["fwd", "bwd", "sym"])
def test_sm90_gets_the_measured_winners(fake_gpu, kind):
    dev = fake_gpu((9, 0))
    assert _configs.capability(dev) == (9, 0)
    chosen = _configs.select(kind, _configs.capability(dev))
    assert chosen == _configs.ARCH[(9, 0)][kind]
    best = {"fwd": ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1), "bwd": ({"BT": 16}, 4, 2),
            "sym": ({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1)}[kind]
    assert chosen[0] == best


@pytest.mark.parametrize("cap", [(8, 0), (8, 9), (10, 0), None])
def test_other_architectures_get_the_generic_set(fake_gpu, cap):
    dev = torch.device("cpu") if cap is None else fake_gpu(cap)
    for kind in ("fwd", "bwd", "sym"):
        assert _configs.select(kind, _configs.capability(dev)) == _configs.GENERIC[kind]
    # the sm_90 forward winner is in the generic set too (the autotuner can find it on new cards)
    assert ({"BT": 32, "BD": 32, "TRANS_OUT": True}, 4, 1) in _configs.GENERIC["fwd"]


def test_env_and_override_take_precedence(fake_gpu, monkeypatch):
    fake_gpu((9, 0))
    monkeypatch.setenv("JRT_TRITON_FWD_CONFIGS", '[[{"BT": 16, "BD": 16}, 2, 1]]')
    assert _configs.select("fwd", (9, 0)) == [({"BT": 16, "BD": 16}, 2, 1)]
    assert _configs.select("bwd", (9, 0)) == _configs.ARCH[(9, 0)]["bwd"]
    monkeypatch.setenv("JRT_TRITON_AUTOTUNE", "first")
    assert _configs.select("sym", (9, 0)) == _configs.ARCH[(9, 0)]["sym"][:1]
    v0 = _configs.version()
    _configs.override("fwd", [({"BT": 64, "BD": 32}, 8, 2)])
    try:
        assert _configs.select("fwd", (9, 0)) == [({"BT": 64, "BD": 32}, 8, 2)]
        assert _configs.version() > v0
    finally:
        _configs.override("fwd", None)
    assert _configs.select("fwd", (9, 0)) == [({"BT": 16, "BD": 16}, 2, 1)]


def test_tuned_kernel_autotunes_over_the_architecture_set(fake_gpu, monkeypatch):
    """The autotuner that a launch on an sm_90 device uses holds exactly the sm_90 configs."""
    monkeypatch.setattr(based_chunk, "INTERPRET", False)  # build real configs even under the interpreter
    monkeypatch.setattr(based_chunk, "_TUNED", {})
    for cap in ((9, 0), (8, 0)):
        dev = fake_gpu(cap)
        for name, family in (("fwd", "fwd"), ("dq", "bwd"), ("dkdv", "bwd")):
            tuned = based_chunk.tuned_kernel(name, dev)
            got = [(dict(c.kwargs), c.num_warps, c.num_stages) for c in tuned.configs]
            assert got == [(dict(m), w, s) for m, w, s in _configs.select(family, cap)]
    from jrt.ops.triton import based_sym  # noqa: F401  (registers "sym")
    tuned = based_chunk.tuned_kernel("sym", fake_gpu((9, 0)))
    assert dict(tuned.configs[0].kwargs) == {"BT": 16, "BD": 64, "STATE_T": True}


def test_backward_value_block_comes_from_the_set(fake_gpu, monkeypatch):
    """BD of the backward kernels: the set's (one value for the whole set), else the default; the
    autotuner never sees it (the launcher passes it)."""
    monkeypatch.setattr(based_chunk, "INTERPRET", False)
    monkeypatch.setattr(based_chunk, "_TUNED", {})
    dev = fake_gpu((9, 0))
    assert _configs.backward_value_block((9, 0), 32) == 32            # the sm_90 set names no BD
    _configs.override("bwd", [({"BT": 16, "BD": 16}, 4, 2), ({"BT": 32, "BD": 16}, 4, 1)])
    try:
        assert _configs.backward_value_block((9, 0), 32) == 16
        for name in ("dq", "dkdv"):
            got = [dict(c.kwargs) for c in based_chunk.tuned_kernel(name, dev).configs]
            assert got == [{"BT": 16}, {"BT": 32}]
        _configs.override("bwd", [({"BT": 16, "BD": 16}, 4, 2), ({"BT": 16, "BD": 32}, 4, 2)])
        with pytest.raises(ValueError, match="different value blocks"):
            _configs.backward_value_block((9, 0), 32)
    finally:
        _configs.override("bwd", None)


def test_configs_with_keys_a_family_does_not_take_are_refused(monkeypatch):
    """A config naming a meta key the kernels do not take (e.g. the removed backward row groups "RG")
    is an error naming the key, from the environment and from override(), not a Triton argument error
    on the GPU or a key the interpreter silently drops; a malformed config too."""
    monkeypatch.setenv("JRT_TRITON_BWD_CONFIGS", '[[{"BT": 16, "RG": 2}, 4, 2]]')
    with pytest.raises(ValueError, match=r"JRT_TRITON_BWD_CONFIGS: the 'bwd' kernels take no \['RG'\]"):
        _configs.select("bwd", (9, 0))
    monkeypatch.setenv("JRT_TRITON_BWD_CONFIGS", '[[{"BT": 16}, 4]]')
    with pytest.raises(ValueError, match="meta dict, num_warps, num_stages"):
        _configs.select("bwd", (9, 0))
    monkeypatch.delenv("JRT_TRITON_BWD_CONFIGS")
    with pytest.raises(ValueError, match=r"override\('fwd'\): the 'fwd' kernels take no \['STATE_T'\]"):
        _configs.override("fwd", [({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1)])
    assert "fwd" not in _configs._OVERRIDES                                  # nothing half-applied
    _configs.override("sym", [({"BT": 16, "BD": 64, "STATE_T": True}, 4, 1)])   # the sym kernel takes it
    _configs.override("sym", None)
    for kind in _configs.KINDS:                                             # every built-in set passes
        for cap in (None, (9, 0)):
            _configs._checked(kind, _configs.select(kind, cap), "built-in")
        _configs._checked(kind, _configs._full_sweep(kind), "full sweep")


def test_plan_defaults(fake_gpu, monkeypatch):
    dev = torch.device("cpu")
    monkeypatch.setattr(_configs, "DEFAULT_KERNEL", "sym")
    monkeypatch.setattr(_configs, "CHUNK_PARALLEL_MAX_T", 4096)
    monkeypatch.setattr(_configs, "CHUNK_PARALLEL_SEG", 128)
    assert based_chunk.plan(2048, 256, 16, 64, dev) == ("sym", "chunk", 128)
    kernel, schedule, seg_len = based_chunk.plan(32768, 256, 16, 64, dev)
    assert (kernel, schedule) == ("sym", "walk") and seg_len == 32768    # B*H fills the GPU: one walk
    kernel, _, seg_len = based_chunk.plan(32768, 1, 16, 64, dev)
    assert seg_len < 32768 and kernel == "full"    # B*H = 1: segments, with the full kernel by default
    assert based_chunk.plan(32768, 1, 16, 64, dev, kernel="sym")[0] == "sym"   # unless asked for
    assert based_chunk.plan(2048, 256, 32, 64, dev)[0] == "full"          # F > 16: the full kernel
    with pytest.raises(ValueError, match="F <= 16"):
        based_chunk.plan(2048, 256, 32, 64, dev, kernel="sym")
    monkeypatch.setattr(_configs, "DEFAULT_KERNEL", "full")
    assert based_chunk.plan(2048, 256, 16, 64, dev)[0] == "full"
    monkeypatch.setattr(_configs, "CHUNK_PARALLEL_MAX_T", 0)
    assert based_chunk.plan(2048, 256, 16, 64, dev)[1] == "walk"
    monkeypatch.setattr(_configs, "CHUNK_PARALLEL_MAX_T", 4096)
    monkeypatch.setenv("JRT_TRITON_SEGMENTS", "2")                       # a forced split applies to the walk
    assert based_chunk.plan(2048, 256, 16, 64, dev) == ("full", "walk", 1024)


@interpreter_only
@pytest.mark.parametrize("kernel", ["sym", "full"])
def test_fp16_chunk_gradients_with_fully_masked_rows(kernel, short_segments):
    """Left padding over a whole segment and the prefix: den = eps there, fp16 gradients stay finite
    through the chunk-parallel backward (g = h = 0 at those positions, also in the reverse state pass)."""
    B, T, P, H, F, D = 2, 150, 12, 2, 4, 8
    q, k, v, ke, ve = (x.half() for x in _inputs(B, T, H, F, D, P=P, seed=12))
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[0, :70] = False                  # batch 0: the prefix and the whole first segment are padding
    do = torch.randn(B, T, H, D, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    kw = dict(key_padding_mask=mask)
    o, _, g = _run(lambda *a: prefix_linear_attention(*a, **kw, backend="triton", kernel=kernel, schedule="chunk"),
                   (q, k, v, ke, ve), do, torch.float16)
    o_ref, _, g_ref = _run(lambda *a: naive.prefix_linear_attention_naive(*a, **kw), (q, k, v, ke, ve), do,
                           torch.float64)
    _close(o.float(), o_ref, "o fp16", tol=5e-3)
    for name, x, ref in zip(("q", "k", "v", "k_enc", "v_enc"), g, g_ref):
        _close(x.float(), ref, f"d{name} fp16", tol=1e-2)
