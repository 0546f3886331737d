"""JRTForCausalLM: cached generation equals full recomputation, constant cache size, padding
invariance, save/load round trip, presets' sizes, and clear errors."""
import pytest
import torch
from transformers import AutoModelForCausalLM

from interpreter_mode import interpreting
from jrt.models import JRTCache, JRTForCausalLM, preset_config

VOCAB = 97


def tiny_model(name: str, **overrides) -> JRTForCausalLM:
    # a larger init spreads the logits so greedy decoding does not collapse onto one token
    cfg = preset_config(name, vocab_size=VOCAB, initializer_range=0.3, **overrides)
    torch.manual_seed(0)
    return JRTForCausalLM(cfg).eval()


def greedy_by_recompute(model, ids, mask, steps):
    """Greedy decoding that runs the full forward over the whole sequence at every step; a JRT
    model's prefix stays each row's prompt (at most enc_length real tokens), as in generation."""
    logits_per_step = []
    enc_length = mask.sum(-1).clamp_max(model.config.enc_length)              # [B] the prompt's share
    for _ in range(steps):
        logits = model(ids, attention_mask=mask, enc_length=enc_length).logits[:, -1]
        logits_per_step.append(logits)
        next_token = logits.argmax(-1, keepdim=True)
        ids = torch.cat([ids, next_token], 1)
        mask = torch.cat([mask, torch.ones_like(next_token)], 1)
    return ids, torch.stack(logits_per_step, 1)


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
@pytest.mark.parametrize("prompt_len", [5, 20, 45])   # enc_length is 32: shorter and longer prompts
def test_cached_generate_equals_recompute(name, prompt_len):
    model = tiny_model(name)
    steps = 12
    ids = torch.randint(0, VOCAB, (2, prompt_len))
    mask = torch.ones_like(ids)
    mask[1, :2] = 0                                    # a left-padded row in the batch
    out = model.generate(ids, attention_mask=mask, max_new_tokens=steps, do_sample=False,
                         output_scores=True, return_dict_in_generate=True, eos_token_id=None)
    assert out.sequences.shape == (2, prompt_len + steps)
    assert torch.equal(out.sequences[:, :prompt_len], ids)
    ref_ids, ref_logits = greedy_by_recompute(model, ids, mask, steps)
    assert torch.equal(out.sequences[:, prompt_len:], ref_ids[:, -steps:])
    cached_logits = torch.stack(out.scores, 1)
    torch.testing.assert_close(cached_logits, ref_logits, rtol=1e-4, atol=1e-4)
    assert len(set(ref_ids[0, -steps:].tolist())) > 1, "degenerate test: greedy output is one repeated token"


def test_generate_repeat_fill_reads_prompt_twice():
    model = tiny_model("jrt-tiny")
    ids = torch.randint(0, VOCAB, (1, 10))
    out = model.generate(ids, max_new_tokens=5, do_sample=False, prefix_fill="repeat", eos_token_id=None)
    twice = torch.cat([ids, ids], 1)
    ref_ids, _ = greedy_by_recompute(model, twice, torch.ones_like(twice), 5)
    assert torch.equal(out[:, 10:], ref_ids[:, -5:])


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_cache_bytes_do_not_grow(name):
    model = tiny_model(name)
    ids = torch.randint(0, VOCAB, (3, 40))
    out = model(ids, use_cache=True)
    cache: JRTCache = out.past_key_values
    token = out.logits[:, -1:].argmax(-1)
    out = model(token, past_key_values=cache, use_cache=True)
    bytes_after_1 = cache.nbytes()
    for _ in range(199):
        token = out.logits[:, -1:].argmax(-1)
        out = model(token, past_key_values=cache, use_cache=True)
    assert cache.seen_tokens == 240
    assert cache.nbytes() == bytes_after_1
    # the analytic count matches the real tensors (plus per-row position counters and ring-buffer slots)
    num_windows = model.config.mixer_types.count("swa")
    assert model.recurrent_state_bytes(batch_size=3)["total"] + 3 * 8 + num_windows * 8 == bytes_after_1


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_left_padding_invariance_whole_model(name):
    model = tiny_model(name, enc_length=12)
    ids = torch.randint(1, VOCAB, (1, 30))
    pad = 7
    padded = torch.cat([torch.zeros(1, pad, dtype=torch.long), ids], 1)
    mask = torch.cat([torch.zeros(1, pad, dtype=torch.long), torch.ones(1, 30, dtype=torch.long)], 1)
    # the prefix counts real tokens: the padded row keeps the same 12 prefix tokens
    ref = model(ids).logits
    got = model(padded, attention_mask=mask).logits[:, pad:]
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)


def mixed_batch(lengths, vocab=VOCAB, seed=0):
    """Left-padded [B, max(lengths)] ids and mask, and the rows alone."""
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(1, vocab, (n,), generator=g) for n in lengths]
    width = max(lengths)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = r
        mask[i, width - len(r):] = 1
    return ids, mask, rows


# batch invariance on the CPU paths and, with CUDA, on the Triton kernels the GPU evaluation uses
# (fp32 there too: IEEE products, only the summation order differs, so the same 1e-4)
DEVICES = [pytest.param("cpu", None, id="cpu"),
           pytest.param("cuda", "triton", id="cuda-triton",
                        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"))]


def on_device(model, ids, mask, rows, device):
    return model.to(device), ids.to(device), mask.to(device), [r.to(device) for r in rows]


@pytest.mark.parametrize("device,backend", DEVICES)
@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_batched_logits_equal_each_row_alone(name, device, backend):
    """Rows below, at and above enc_length (32) in one batch: every row's logits are those it has alone
    (the bug this guards against: the prefix was the batch's first enc_length columns, so a short row
    next to a long one lost prefix tokens to padding)."""
    lengths = [9, 32, 45, 70]
    model, ids, mask, rows = on_device(tiny_model(name, ops_backend=backend), *mixed_batch(lengths), device)
    batched = model(ids, attention_mask=mask).logits
    for i, r in enumerate(rows):
        alone = model(r[None]).logits[0]
        torch.testing.assert_close(batched[i, -len(r):], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device,backend", DEVICES)
@pytest.mark.parametrize("prefix_fill", ["pad", "repeat"])
def test_batched_generation_equals_each_row_alone(prefix_fill, device, backend):
    lengths = [9, 32, 45, 70]                       # with "repeat": 18, 64, 90, 140 tokens read
    model, ids, mask, rows = on_device(tiny_model("jrt-tiny", ops_backend=backend),
                                       *mixed_batch(lengths, seed=1), device)
    out = model.generate(ids, attention_mask=mask, max_new_tokens=10, do_sample=False, eos_token_id=None,
                         prefix_fill=prefix_fill)
    for i, r in enumerate(rows):
        alone = model.generate(r[None], max_new_tokens=10, do_sample=False, eos_token_id=None,
                               prefix_fill=prefix_fill)
        assert torch.equal(out[i, ids.shape[1]:], alone[0, len(r):]), (prefix_fill, len(r))


def test_per_row_enc_length_equals_each_row_alone():
    model = tiny_model("jrt-tiny")
    ids, mask, rows = mixed_batch([20, 40], seed=2)
    enc = torch.tensor([5, 33])
    batched = model(ids, attention_mask=mask, enc_length=enc).logits
    for i, r in enumerate(rows):
        alone = model(r[None], enc_length=int(enc[i])).logits[0]
        torch.testing.assert_close(batched[i, -len(r):], alone, rtol=1e-4, atol=1e-4)


def test_prefix_is_non_causal_and_suffix_causal():
    model = tiny_model("jrt-tiny", enc_length=10)
    ids = torch.randint(0, VOCAB, (1, 20))
    changed = ids.clone()
    changed[0, 8] = (ids[0, 8] + 1) % VOCAB          # a token inside the prefix
    a, b = model(ids).logits, model(changed).logits
    assert not torch.allclose(a[:, :8], b[:, :8])     # earlier prefix positions see it (non-causal)
    changed = ids.clone()
    changed[0, 15] = (ids[0, 15] + 1) % VOCAB         # a token after the prefix
    a, b = model(ids).logits, model(changed).logits
    torch.testing.assert_close(a[:, :15], b[:, :15])  # nothing before it changes (causal)


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_save_and_auto_load_give_identical_logits(name, tmp_path):
    model = tiny_model(name)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is JRTForCausalLM
    ids = torch.randint(0, VOCAB, (2, 40))
    assert torch.equal(model(ids).logits, loaded(ids).logits)


def test_empty_prompt_and_bad_inputs_raise():
    model = tiny_model("jrt-tiny")
    with pytest.raises(ValueError, match="non-empty prompt"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), max_new_tokens=3)
    with pytest.raises(ValueError, match="empty"):
        model.generate(torch.ones(2, 4, dtype=torch.long), attention_mask=torch.tensor([[1, 1, 1, 1], [0, 0, 0, 0]]),
                       max_new_tokens=3)
    with pytest.raises(ValueError, match="prefix_fill"):
        model.generate(torch.ones(1, 4, dtype=torch.long), prefix_fill="twice")
    with pytest.raises(ValueError, match="non-empty"):
        model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="mixer_types"):
        preset_config("jrt-tiny", mixer_types=["conv", "attention"])
    with pytest.raises(ValueError, match="unknown preset"):
        preset_config("jrt-7b")


@pytest.mark.parametrize("name,target", [("jrt-360m", 360e6), ("based-360m", 360e6),
                                         ("jrt-1.3b", 1.3e9), ("based-1.3b", 1.3e9)])
def test_paper_presets_have_paper_sizes(name, target):
    with torch.device("meta"):
        model = JRTForCausalLM(preset_config(name))
    params = sum(p.numel() for p in model.parameters())
    assert abs(params - target) / target < 0.10, params


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_explicit_decoder_equals_hf_generate(name):
    from jrt.models.generation import greedy_generate
    model = tiny_model(name)
    ids = torch.randint(0, VOCAB, (2, 9))
    ref = model.generate(ids, max_new_tokens=20, do_sample=False, eos_token_id=None)[:, 9:]
    assert torch.equal(greedy_generate(model, ids, max_new_tokens=20), ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_cuda_graph_decoder_equals_eager(name):
    from jrt.models.generation import greedy_generate
    model = tiny_model(name).cuda()
    ids = torch.randint(0, VOCAB, (4, 50), device="cuda")
    eager = greedy_generate(model, ids, max_new_tokens=40)
    graphed = greedy_generate(model, ids, max_new_tokens=40, cuda_graph=True)
    assert torch.equal(eager, graphed)


@pytest.mark.parametrize("device,cuda_graph", [
    pytest.param("cpu", False, id="cpu-eager"),
    pytest.param("cuda", True, id="cuda-graphed",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"))])
@pytest.mark.parametrize("prefix_fill", ["pad", "repeat"])
def test_explicit_decoder_batched_equals_each_row_alone(prefix_fill, device, cuda_graph):
    """The explicit (and, on CUDA, graphed) decoder on rows below, at and above enc_length (32)."""
    from jrt.models.generation import greedy_generate
    lengths = [9, 32, 45, 70]
    model, ids, mask, rows = on_device(tiny_model("jrt-tiny"), *mixed_batch(lengths, seed=3), device)
    out = greedy_generate(model, ids, mask, max_new_tokens=10, cuda_graph=cuda_graph, prefix_fill=prefix_fill)
    for i, r in enumerate(rows):
        alone = greedy_generate(model, r[None], max_new_tokens=10, cuda_graph=cuda_graph, prefix_fill=prefix_fill)
        assert torch.equal(out[i], alone[0]), (prefix_fill, len(r))


@pytest.mark.parametrize("device,cuda_graph", [
    pytest.param("cpu", False, id="cpu"),
    pytest.param("cuda", True, id="cuda-graphed",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"))])
def test_compiled_decoder_equals_eager_and_compiles_once(device, cuda_graph):
    """torch.compile of the decode step: the same greedy tokens as the eager step, and one trace for
    every token (a recompile per token, e.g. from a Python int read in the step, raises here)."""
    import torch._dynamo

    from jrt.models.generation import greedy_generate
    lengths = [9, 32, 45]                                   # mixed: pads, and rows below/above enc_length
    model, ids, mask, _ = on_device(tiny_model("jrt-tiny"), *mixed_batch(lengths, seed=4), device)
    eager = greedy_generate(model, ids, mask, max_new_tokens=12, cuda_graph=cuda_graph)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    with torch._dynamo.config.patch(error_on_recompile=True):
        compiled = greedy_generate(model, ids, mask, max_new_tokens=12, cuda_graph=cuda_graph, compile=True)
    assert torch.equal(eager, compiled)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1   # it was compiled, not run eagerly


@pytest.mark.parametrize("compile", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("device,cuda_graph", [
    # CPU tensors reach the Triton kernel only under TRITON_INTERPRET=1 (tests/conftest.py sets it without CUDA)
    pytest.param("cpu", False, id="cpu",
                 marks=pytest.mark.skipif(not interpreting(), reason="needs TRITON_INTERPRET=1 on CPU")),
    pytest.param("cuda", True, id="cuda-graphed",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"))])
def test_skinny_linear_decoder_equals_eager(device, cuda_graph, compile):
    """RecurrentDecoder(skinny_linear=True): every linear layer of the step runs jrt::skinny_linear (the
    Triton kernel; on CPU under the interpreter) instead of a GEMM, and the greedy tokens are the plain
    eager decoder's."""
    import torch._dynamo
    from torch.profiler import profile

    from jrt.models.generation import RecurrentDecoder, greedy_generate
    model, ids, mask, _ = on_device(tiny_model("jrt-tiny"), *mixed_batch([9, 32, 45], seed=4), device)
    eager = greedy_generate(model, ids, mask, max_new_tokens=6, cuda_graph=cuda_graph)
    torch._dynamo.reset()
    skinny = greedy_generate(model, ids, mask, max_new_tokens=6, cuda_graph=cuda_graph, compile=compile,
                             skinny_linear=True)
    assert torch.equal(eager, skinny)
    decoder = RecurrentDecoder(model, compile=compile, skinny_linear=True)   # no graph: the profiler sees the ops
    token = decoder.prefill(*model._fill_prefix(ids, mask, "pad"))
    decoder.step(token)
    with profile() as prof:
        decoder.step(token)
    names = [event.name for event in prof.events()]
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in model.modules()) - 2 * sum(   # the encoder's k/v
        1 for m in model.modules() if hasattr(m, "k_enc_proj"))                          # projections: prefill only
    assert sum(name == "jrt::skinny_linear" for name in names) == n_linear
    assert not any(name in ("aten::mm", "aten::addmm") for name in names)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))])
def test_decoder_skinny_linear_default(device, monkeypatch):
    """skinny_linear=None turns the kernel on exactly for a compiled bf16 step on CUDA (where it was
    timed); an explicit True / False wins everywhere."""
    from jrt.models.generation import RecurrentDecoder
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: fn)          # resolution only, nothing traced
    model = tiny_model("jrt-tiny").to(device)
    assert RecurrentDecoder(model, compile=True).skinny_linear is False     # float32: not timed
    assert RecurrentDecoder(model.to(torch.bfloat16), compile=True).skinny_linear is (device == "cuda")
    assert RecurrentDecoder(model).skinny_linear is False
    assert RecurrentDecoder(model, compile=True, skinny_linear=False).skinny_linear is False
    assert RecurrentDecoder(model, skinny_linear=True).skinny_linear is True


def test_decoder_compile_mode(monkeypatch):
    """compile_mode reaches torch.compile; modes that capture CUDA graphs of their own are refused
    inside the decoder's graph, and a mode without compile=True is an error, not ignored."""
    from jrt.models.generation import RecurrentDecoder
    model = tiny_model("jrt-tiny")
    seen = {}
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: seen.update(kwargs) or fn)
    RecurrentDecoder(model, cuda_graph=True, compile=True, compile_mode="max-autotune-no-cudagraphs")
    assert seen == {"dynamic": False, "mode": "max-autotune-no-cudagraphs"}
    with pytest.raises(ValueError, match="needs compile=True"):
        RecurrentDecoder(model, compile_mode="max-autotune-no-cudagraphs")
    for mode in ("reduce-overhead", "max-autotune"):
        with pytest.raises(ValueError, match="CUDA graphs of its own"):
            RecurrentDecoder(model, cuda_graph=True, compile=True, compile_mode=mode)
    RecurrentDecoder(model, cuda_graph=False, compile=True, compile_mode="reduce-overhead")   # no graph: allowed


def test_jrt_labels_loss_skips_the_non_causal_prefix():
    model = tiny_model("jrt-tiny", enc_length=10)
    ids = torch.randint(0, VOCAB, (2, 25))
    out = model(ids, labels=ids)
    logits = out.logits.double()
    # independent computation: cross entropy of positions 9..23 predicting tokens 10..24
    ref = torch.nn.functional.cross_entropy(logits[:, 9:24].reshape(-1, VOCAB), ids[:, 10:25].reshape(-1))
    torch.testing.assert_close(out.loss.double(), ref, rtol=1e-5, atol=1e-6)
    based = tiny_model("based-tiny")
    out = based(ids, labels=ids)
    ref = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, VOCAB).double(), ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss.double(), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["jrt-tiny", "based-tiny"])
def test_logits_to_keep_slices_the_full_logits(name):
    """logits_to_keep=n gives exactly the last n rows of the full logits, also for a cached prefill
    (what generate and RecurrentDecoder ask for); with labels or a bad value it refuses."""
    model = tiny_model(name)
    ids = torch.randint(0, VOCAB, (2, 40))
    full = model(ids).logits
    for n in (1, 3):
        # same numbers up to the BLAS blocking of a smaller matmul
        torch.testing.assert_close(model(ids, logits_to_keep=n).logits, full[:, -n:], rtol=1e-5, atol=1e-5)
    cached = model(ids, use_cache=True, logits_to_keep=1)
    torch.testing.assert_close(cached.logits[:, -1], full[:, -1], rtol=1e-5, atol=1e-5)
    assert model.prepare_inputs_for_generation(ids, logits_to_keep=1)["logits_to_keep"] == 1
    with pytest.raises(ValueError, match="labels"):
        model(ids, labels=ids, logits_to_keep=1)
    with pytest.raises(ValueError, match="logits_to_keep"):
        model(ids, logits_to_keep=-1)


def test_compare_with_eager_sees_a_wrong_step():
    """compare_with_eager (benchmarks/generate.py's check of every fast decoder) on a decoder whose
    step is off by a constant on one logit: the teacher-forced comparison reports that difference and
    the flipped argmaxes, which a rounding tie cannot cause."""
    from jrt.models.generation import RecurrentDecoder, compare_with_eager

    torch.manual_seed(0)
    model = JRTForCausalLM(preset_config("jrt-tiny", vocab_size=64, initializer_range=0.3)).eval()
    ids = torch.randint(0, 64, (2, 40))

    class Skewed(RecurrentDecoder):            # always pushes token 7 to the top
        def step_logits(self, token):
            logits = super().step_logits(token).clone()
            logits[:, 7] += 1e3
            return logits

    check = compare_with_eager(Skewed(model), model, ids, steps=5)
    assert abs(check["vs_eager_forced_max_logit_diff"] - 1e3) < 1e-2 * 1e3
    assert check["vs_eager_forced_argmax_match"] < 1.0
    # the margin is the eager logits' preference for their own token over token 7, recomputed here
    eager = RecurrentDecoder(model)
    token, expected = eager.prefill(ids), 0.0
    for _ in range(5):
        logits = eager.step_logits(token)
        token = logits.argmax(-1)
        flips = token != 7
        if flips.any():
            expected = max(expected, float((logits.max(-1).values - logits[:, 7])[flips].max()))
    assert check["vs_eager_flip_margin_max"] == pytest.approx(expected, rel=1e-5)
    assert check["vs_eager_flip_margin_max"] > 0.1 * check["vs_eager_logit_scale"]   # far from a rounding tie
    same = compare_with_eager(RecurrentDecoder(model), model, ids, steps=5)
    assert same["vs_eager_forced_max_logit_diff"] == 0.0 and same["vs_eager_token_match"] == 1.0


def test_compare_with_eager_against_a_wider_reference():
    """With a float64 copy as reference, a float32 eager step and a float32 fast step that equals it sit
    at float32 rounding from it, and a skewed step sits its skew away: the reference tells rounding
    from error without a threshold on the eager difference."""
    import copy

    from jrt.models.generation import RecurrentDecoder, compare_with_eager

    torch.manual_seed(0)
    model = JRTForCausalLM(preset_config("jrt-tiny", vocab_size=64, initializer_range=0.3)).eval()
    exact = copy.deepcopy(model).double()
    ids = torch.randint(0, 64, (2, 40))
    same = compare_with_eager(RecurrentDecoder(model), model, ids, steps=5, reference=exact)
    assert same["reference_dtype"] == "float64"
    assert 0 < same["eager_vs_reference_max_logit_diff"] < 1e-4 * same["vs_eager_logit_scale"]
    assert same["fast_vs_reference_max_logit_diff"] == same["eager_vs_reference_max_logit_diff"]

    class Skewed(RecurrentDecoder):            # token 5 off by 0.5
        def step_logits(self, token):
            logits = super().step_logits(token).clone()
            logits[:, 5] += 0.5
            return logits

    skewed = compare_with_eager(Skewed(model), model, ids, steps=5, reference=exact)
    assert skewed["fast_vs_reference_max_logit_diff"] == pytest.approx(0.5, abs=1e-4)
    assert skewed["eager_vs_reference_max_logit_diff"] == same["eager_vs_reference_max_logit_diff"]
