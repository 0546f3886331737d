"""The native runner's second reading of an answer: greedy generation continues past stop strings
that come before any other text, so a model answering on the next line ("Key:\\nvalue") is told from
one without an answer, while the paper's reading (cut at the first newline) stays as it was."""
from __future__ import annotations

import pytest
import torch


def answer_on_the_next_line(model, tokenizer) -> None:
    """Hooks that make ``model`` write a newline after every ':' (as FDA pages do), its random self
    otherwise: the logit of '\n' gets +50 at positions whose input token is ':'."""
    colon, newline = tokenizer.encode(":")[0], tokenizer.encode("\n")[0]
    seen = {}

    def keep_ids(module, args, kwargs):
        seen["ids"] = kwargs["input_ids"] if kwargs.get("input_ids") is not None else args[0]

    def boost(module, inputs, logits):
        ids = seen["ids"][:, -logits.shape[1]:]                       # logits may cover the last positions only
        logits = logits.clone()
        logits[..., newline] += 50.0 * (ids == colon).to(logits.dtype)
        return logits

    model.register_forward_pre_hook(keep_ids, with_kwargs=True)
    model.lm_head.register_forward_hook(boost)


def _cut(text: str, stops: list[str]) -> str:
    for stop in stops:
        if stop in text:
            text = text[:text.index(stop)]
    return text


def test_stop_criterion_counts_stops_after_text_only(gpt2_tokenizer_path):
    from transformers import AutoTokenizer

    from jrt.eval.generation import _StopOnStrings

    tok = AutoTokenizer.from_pretrained(str(gpt2_tokenizer_path))
    stops = ["\n", tok.eos_token]
    rows = {"blank first": "\n\n 9780061684388\nmore", "answer": " Tolkien\nmore", "eos": tok.eos_token + " x"}
    for past_leading in (False, True):
        for name, text in rows.items():
            ids = tok.encode(text)
            crit = _StopOnStrings(tok, stops, batch_size=1, past_leading=past_leading)
            prompt = tok.encode("Key:\nprompt with a newline:")   # stops inside the prompt never count
            first_done = next(n for n in range(1, len(ids) + 1)
                              if bool(crit(torch.tensor([prompt + ids[:n]]))[0]))
            seen = tok.decode(ids[:first_done])
            # independent statement of the rule: the shortest prefix holding a stop string (after the
            # leading blank when past_leading)
            probe = seen.lstrip() if past_leading else seen
            assert any(s in probe for s in stops), (name, past_leading, seen)
            shorter = tok.decode(ids[:first_done - 1])
            shorter = shorter.lstrip() if past_leading else shorter
            assert not any(s in shorter for s in stops), (name, past_leading, shorter)
            if name == "blank first":
                assert ("9780" in seen) == past_leading


def test_generate_all_reads_each_answer_twice(tiny_hf_models):
    """Answer.text is what generate() returns (the paper's reading, unchanged); both readings equal a
    reference computed from plain model.generate without any stopping criterion."""
    from jrt.eval.generation import Generator

    gen = Generator(str(tiny_hf_models["llama"]), device="cpu", batch_size=3)
    answer_on_the_next_line(gen.model, gen.tokenizer)
    prompts = ["The author is Tolkien. Author:", "Product code:\nLLH\nPanel:", "x y z",
               "A much longer prompt than the others, with many more words in it to pad. Key:"]
    answers = gen.generate_all(prompts, until=["\n"], max_gen_toks=12, progress=False)
    assert [a.text for a in answers] == [gen.generate([p], until=["\n"], max_gen_toks=12)[0] for p in prompts]
    stops = ["\n", gen.tokenizer.eos_token]
    leading = 0
    for prompt, answer in zip(prompts, answers):
        ids = gen.tokenizer(prompt, return_tensors="pt")["input_ids"]
        out = gen.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False,
                                 pad_token_id=gen.tokenizer.eos_token_id, eos_token_id=None)
        raw = gen.tokenizer.decode(out[0, ids.shape[1]:])
        assert answer.text == _cut(raw, stops)
        stripped = raw.lstrip()
        if gen.tokenizer.eos_token in stripped[:len(_cut(stripped, ["\n"])) + len(gen.tokenizer.eos_token)]:
            continue  # past an EOS the model's own stop ends the row: nothing further to compare
        assert answer.after_blank == _cut(stripped, stops)
        leading += raw.startswith("\n")
    assert leading == 3  # the three prompts ending in ':'
    assert all(not a.text for a in answers[:2] + answers[3:]) and any(a.after_blank.strip() for a in answers)


@pytest.mark.parametrize("prefix_fill", ["pad", "repeat"])
def test_generate_all_on_a_jrt_model_equals_generate(prefix_fill, gpt2_tokenizer_path):
    """With read-2x padding the model lengthens the prompt itself (the prompt, a newline in it, then
    the prompt again): the paper's reading from generate_all must still equal generate()'s, token
    for token, and generation must not stop at a newline inside the prompt."""
    from jrt.eval.generation import Generator

    gen = Generator("jrt-tiny", tokenizer=str(gpt2_tokenizer_path), device="cpu", batch_size=2,
                    prefix_fill=prefix_fill)
    prompts = ["Product code:\nLLH\nPanel:", "A page.\nAuthor:", "x y z"]
    answers = gen.generate_all(prompts, until=["\n"], max_gen_toks=8, progress=False)
    single = [gen.generate([p], until=["\n"], max_gen_toks=8)[0] for p in prompts]
    assert [a.text for a in answers] == single
    assert any(len(gen.tokenizer.encode(t)) > 1 for t in single)  # more than one token generated somewhere
