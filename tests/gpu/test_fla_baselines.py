"""The GLA (fla) and Mamba2 (fla scan) baselines as `jrt train` builds them and `jrt eval` loads them.

GPU + flash-linear-attention only. What the recall evaluation relies on: a saved model loads back
through jrt's loader, and a left-padded batch gives each prompt the logits it gets alone (prefill and
one cached decode step), since evaluation batches prompts of different lengths.
"""
import pytest
import torch

from jrt.baselines import mamba2_scan

pytestmark = pytest.mark.skipif(not torch.cuda.is_available() or mamba2_scan.fla_scan_kernel() is None,
                                reason="needs CUDA and flash-linear-attention")


@pytest.fixture(params=["hf-gla:tiny", "hf-mamba2:tiny"])
def saved_model(request, tmp_path, monkeypatch):
    from jrt.baselines import build_by_name as build_model

    monkeypatch.setenv("JRT_MAMBA2_SCAN", "fla")  # Mamba2's scan through fla, as the GPU runs use it
    torch.manual_seed(0)
    model, info = build_model(request.param, 250, 256)
    if request.param.startswith("hf-mamba2"):
        assert info["mamba2_scan"].startswith("fla")
    model.save_pretrained(tmp_path)
    yield tmp_path
    mamba2_scan.uninstall()


def _last_logits_and_step(model, ids, mask, nxt):
    """Logits at the last prompt position, then at one cached decode step fed `nxt` [B, 1]."""
    out = model(input_ids=ids, attention_mask=mask, use_cache=True)
    # transformers' Mamba2 returns its state as cache_params, fla's models as past_key_values
    cache = {"cache_params": out.cache_params} if "cache_params" in out else {"past_key_values": out.past_key_values}
    step = model(input_ids=nxt, attention_mask=torch.cat([mask, torch.ones_like(nxt)], 1), use_cache=True, **cache)
    return out.logits[:, -1].float(), step.logits[:, -1].float()


def test_left_padded_batch_matches_single_prompts(saved_model):
    from jrt.models.loading import load_causal_lm

    model = load_causal_lm(str(saved_model), dtype=torch.float32).cuda()
    if "mamba2" in type(model).__name__.lower():  # fla, imported here, registers its own Mamba2 over HF's
        assert type(model).__module__.startswith("transformers."), type(model).__module__
    gen = torch.Generator().manual_seed(1)
    long_ids = torch.randint(1, 250, (1, 90), generator=gen).cuda()
    short_ids = torch.randint(1, 250, (1, 57), generator=gen).cuda()
    pad = long_ids.shape[1] - short_ids.shape[1]
    batch = torch.cat([long_ids, torch.cat([torch.zeros(1, pad, dtype=torch.long, device="cuda"), short_ids], 1)])
    mask = torch.ones_like(batch)
    mask[1, :pad] = 0
    nxt = torch.tensor([[7], [11]], device="cuda")
    with torch.no_grad():
        b_logits, b_step = _last_logits_and_step(model, batch, mask, nxt)
        for row, ids in enumerate((long_ids, short_ids)):
            logits, step = _last_logits_and_step(model, ids, torch.ones_like(ids), nxt[row:row + 1])
            assert (b_logits[row] - logits[0]).abs().max() <= 1e-2 * logits.abs().max(), f"prefill, prompt {row}"
            assert (b_step[row] - step[0]).abs().max() <= 1e-2 * step.abs().max(), f"decode step, prompt {row}"


def test_gla_torch_norms_match_fla_kernels(tmp_path):
    """The loader runs fla's RMSNorms in PyTorch (jrt.baselines.fla_norms): same logits as fla's kernels."""
    import transformers

    from jrt.baselines import build_by_name as build_model
    from jrt.models.loading import load_causal_lm

    torch.manual_seed(0)
    model, _ = build_model("hf-gla:tiny", 250, 256)
    model.save_pretrained(tmp_path)
    kernels = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), dtype=torch.bfloat16).cuda().eval()
    loaded = load_causal_lm(str(tmp_path), dtype=torch.bfloat16).cuda()
    assert sum(type(m).__name__ in ("RMSNorm", "FusedRMSNormGated") for m in loaded.modules()) > 0
    assert all(m.forward.__func__.__module__ == "jrt.baselines.fla_norms"
               for m in loaded.modules() if type(m).__name__ in ("RMSNorm", "FusedRMSNormGated"))
    ids = torch.randint(1, 250, (3, 300), generator=torch.Generator().manual_seed(2)).cuda()
    with torch.no_grad():
        want, got = kernels(input_ids=ids).logits.float(), loaded(input_ids=ids).logits.float()
    assert (got - want).abs().max() <= 2e-2 * want.abs().max()
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() > 0.98
