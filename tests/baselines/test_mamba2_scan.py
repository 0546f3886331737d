"""HF Mamba2's chunk scan through a simple-GLA kernel (jrt.baselines.mamba2_scan).

CPU: the (q, k, v, g) mapping, driven by a float64 token-by-token recurrence standing in for fla's
kernel, against transformers' own chunked SSD (a second algorithm). GPU with fla: the whole
Mamba2ForCausalLM with the fla scan installed against HF's torch scan, logits and gradients.
"""
import pytest
import torch

from jrt.baselines import mamba2_scan


def _hf_torch_scan():
    import transformers.models.mamba2.modeling_mamba2 as hf

    return mamba2_scan._HF_SCAN or hf.mamba2_chunk_scan


def recurrent_simple_gla(q, k, v, g, scale, initial_state=None, output_final_state=False, state_v_first=False):
    """S_t = exp(g_t) S_{t-1} + v_t k_t^T, o_t = scale * S_t q_t, state [b, h, V, K] (value-first)."""
    assert state_v_first, "the Mamba2 mapping must ask for HF's [head_dim, state_size] state layout"
    b, t, h, n = q.shape
    p = v.shape[-1]
    S = torch.zeros(b, h, p, n, dtype=torch.float64) if initial_state is None else initial_state.double()
    out = torch.empty(b, t, h, p, dtype=torch.float64)
    for i in range(t):
        S = S * g[:, i].double().exp()[..., None, None] + v[:, i].double()[..., None] * k[:, i].double()[..., None, :]
        out[:, i] = scale * (S @ q[:, i].double()[..., None]).squeeze(-1)
    return out, (S if output_final_state else None)


def _inputs(b=2, t=37, h=4, p=8, g=2, n=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    return dict(hidden_states=r(b, t, h, p), dt=r(b, t, h), A=-torch.rand(h, generator=gen, dtype=torch.float64) * 2,
                B=r(b, t, g, n), C=r(b, t, g, n), D=r(h), dt_bias=r(h) * 0.5, initial_states=r(b, h, p, n))


@pytest.mark.parametrize("dt_limit", [(0.0, float("inf")), (0.01, 0.5)])
@pytest.mark.parametrize("with_state", [False, True])
def test_mapping_matches_hf_chunked_ssd(dt_limit, with_state):
    x = _inputs()
    if not with_state:
        x["initial_states"] = None
    common = dict(chunk_size=16, dt_softplus=True, dt_limit=dt_limit, return_final_states=True)
    y_ref, s_ref = _hf_torch_scan()(**x, **common)
    y, s = mamba2_scan.ssd_scan_via_gla(**x, **common, kernel=recurrent_simple_gla)
    # HF's scan computes in float32 whatever it is given: float32 round-off, relative to the scale
    for ours, ref in ((y, y_ref), (s, s_ref)):
        ref = ref.double()
        assert (ours.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_without_final_state_returns_tensor():
    x = _inputs(t=5)
    y = mamba2_scan.ssd_scan_via_gla(**x, chunk_size=4, dt_softplus=True, kernel=recurrent_simple_gla)
    assert isinstance(y, torch.Tensor) and y.shape == x["hidden_states"].shape


def test_missing_fla_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(mamba2_scan, "fla_scan_kernel", lambda: None)
    with pytest.raises(ImportError, match="flash-linear-attention"):
        mamba2_scan.ssd_scan_via_gla(**_inputs(t=3), chunk_size=4)
    assert mamba2_scan.install() is False


def test_maybe_install_is_opt_in(monkeypatch):
    monkeypatch.delenv("JRT_MAMBA2_SCAN", raising=False)
    assert mamba2_scan.maybe_install() == "transformers torch" and not mamba2_scan.installed()
    monkeypatch.setenv("JRT_MAMBA2_SCAN", "cuda")
    with pytest.raises(ValueError, match="'torch' or 'fla'"):
        mamba2_scan.maybe_install()
    monkeypatch.setenv("JRT_MAMBA2_SCAN", "fla")
    monkeypatch.setattr(mamba2_scan, "fla_scan_kernel", lambda: None)
    with pytest.raises(ImportError, match="flash-linear-attention"):
        mamba2_scan.maybe_install()


fla_cuda = pytest.mark.skipif(not torch.cuda.is_available() or mamba2_scan.fla_scan_kernel() is None,
                              reason="needs CUDA and flash-linear-attention")


def _tiny_mamba2():
    from transformers import Mamba2Config, Mamba2ForCausalLM

    torch.manual_seed(0)
    # hf-mamba2:small's head and state sizes (64, 64), so the kernels autotuned here are reused there
    cfg = Mamba2Config(vocab_size=256, hidden_size=256, num_hidden_layers=2, expand=2, head_dim=64,
                       num_heads=8, n_groups=1, state_size=64, conv_kernel=4, chunk_size=64,
                       tie_word_embeddings=True, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    return Mamba2ForCausalLM(cfg).cuda().train()


def _logits_and_grads(model, ids):
    model.zero_grad(set_to_none=True)
    logits = model(ids).logits.float()
    logits.square().mean().backward()
    return logits.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@fla_cuda
def test_full_model_fla_scan_matches_hf_torch_scan():
    model = _tiny_mamba2()
    ids = torch.randint(0, 256, (2, 300), device="cuda")
    mamba2_scan.uninstall()
    ref_logits, ref_grads = _logits_and_grads(model, ids)
    assert mamba2_scan.install() and mamba2_scan.installed()
    try:
        logits, grads = _logits_and_grads(model, ids)
    finally:
        mamba2_scan.uninstall()
    # fla's kernels use tf32 matmuls: compare at that precision, relative to each tensor's scale
    assert (logits - ref_logits).abs().max() <= 2e-2 * ref_logits.abs().max()
    assert ref_grads.keys() == grads.keys()
    for name, g in ref_grads.items():
        err = (grads[name] - g).norm() / g.norm().clamp_min(1e-12)
        assert err < 2e-2, f"{name}: relative gradient error {err:.3g}"


@fla_cuda
def test_cached_generation_unchanged_by_fla_prefill():
    model = _tiny_mamba2().eval()
    ids = torch.randint(0, 256, (1, 130), device="cuda")
    mamba2_scan.uninstall()
    ref = model.generate(ids, max_new_tokens=12, do_sample=False)
    mamba2_scan.install()
    try:
        out = model.generate(ids, max_new_tokens=12, do_sample=False)
    finally:
        mamba2_scan.uninstall()
    assert torch.equal(out, ref)
