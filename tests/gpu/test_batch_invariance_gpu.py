"""JRT-RNN on the Triton kernels (CUDA): a row's output does not depend on the batch it is in.

The CPU tests (tests/models/test_model.py) check this on the naive/torch paths; here the same
property on the kernels that the GPU evaluation uses, fp32 (IEEE products; only summation order
differs, so 1e-4), rows below, at and above enc_length in one left-padded batch, forward and greedy
generation with both prefix fills.
"""
import pytest
import torch

from jrt.models import JRTForCausalLM, preset_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
VOCAB = 256


def _model(name: str) -> JRTForCausalLM:
    cfg = preset_config(name, vocab_size=VOCAB, initializer_range=0.3, ops_backend="triton")
    torch.manual_seed(0)
    return JRTForCausalLM(cfg).cuda().eval()


def _batch(lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(1, VOCAB, (n,), generator=g).cuda() for n in lengths]
    width = max(lengths)
    ids = torch.zeros(len(rows), width, dtype=torch.long, device="cuda")
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = r
        mask[i, width - len(r):] = 1
    return ids, mask, rows


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_batched_logits_equal_each_row_alone_on_the_kernels(name):
    model = _model(name)
    ids, mask, rows = _batch([9, 32, 45, 70, 200])          # enc_length 32
    with torch.no_grad():
        batched = model(ids, attention_mask=mask).logits
        for i, r in enumerate(rows):
            alone = model(r[None]).logits[0]
            torch.testing.assert_close(batched[i, -len(r):], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("prefix_fill", ["pad", "repeat"])
def test_batched_generation_equals_each_row_alone_on_the_kernels(prefix_fill):
    model = _model("jrt-tiny")
    ids, mask, rows = _batch([9, 32, 45, 70], seed=1)
    out = model.generate(ids, attention_mask=mask, max_new_tokens=10, do_sample=False, eos_token_id=None,
                         prefix_fill=prefix_fill)
    for i, r in enumerate(rows):
        alone = model.generate(r[None], max_new_tokens=10, do_sample=False, eos_token_id=None,
                               prefix_fill=prefix_fill)
        assert torch.equal(out[i, ids.shape[1]:], alone[0, len(r):]), (prefix_fill, len(r))
