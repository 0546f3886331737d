"""Recall-format training examples, built exactly like the SWDE/FDA evaluation prompts.

An example is one key-value annotation of one *training* document:

    prompt = "{ctx}. {Key}:"          # ctx: the document cut to a token window around the answer
    target = " {value}\n"

The evaluation path is reused as is: ``jrt.tasks.truncate_around_answer`` (budget
``context_length - answer_length`` tokens, at most half of it before the earliest case-insensitive
match of the key or the value; anchors of <= 1 character drop the annotation) and
``jrt.prompt.kv_prompt`` (``clean_context`` + ``"{ctx}. {Key}:"``), with the evaluation defaults
``context_length=1000, answer_length=50``. The only difference from an evaluation example is the
document (a training one) and the appended target.

If jrt.tasks / jrt.prompt cannot be imported, a local copy of the same algorithm is used (marked in
the manifest by ``truncation_source()``).
"""
from __future__ import annotations

from dataclasses import dataclass

CONTEXT_LENGTH = 1000
ANSWER_LENGTH = 50


# ------------------------------------------------------------------ local fallback (same algorithm)

def _clean_context_local(text: str, suffixes=()) -> str:
    changed = True
    while changed:
        before = text
        for s in suffixes:
            t = text.rstrip()
            if s and t.lower().endswith(s.lower()):
                text = t[: -len(s)]
        text = text.strip().strip(".").strip()
        changed = text != before
    return text + "."


def _capitalize_key_local(key: str) -> str:
    return key[:1].upper() + key[1:]


def _kv_prompt_local(doc: str, key: str) -> str:
    return f"{_clean_context_local(doc, [key + ':'])} {_capitalize_key_local(key)}:"


def _truncate_local(text: str, anchors, tokenizer, context_length: int, answer_length: int,
                    tokens=None):
    if not anchors or any(a is None or len(a) <= 1 for a in anchors):
        return None
    budget = context_length - answer_length
    enc = lambda s: tokenizer.encode(s, add_special_tokens=False)  # noqa: E731
    text = text.strip()
    ids = list(tokens) if tokens is not None else enc(text)
    low = text.lower()
    hits = [p for p in (low.find(a.lower()) for a in anchors) if p >= 0]
    pos = min(hits) if hits else -1
    tok_pos = len(enc(text[:pos])) if pos != 0 else 0
    start = max(0, tok_pos - budget // 2)
    end = min(len(ids), tok_pos + (budget - (tok_pos - start)))
    if len(ids) <= budget:
        return text
    return tokenizer.decode(ids[start:end], skip_special_tokens=True)


def _impl():
    try:
        from jrt.prompt import kv_prompt
        from jrt.tasks import as_tokenizer, truncate_around_answer

        def truncate(text, anchors, tokenizer, context_length, answer_length, tokens=None):
            w = truncate_around_answer(text, anchors, tokenizer, context_length, answer_length,
                                       tokens=tokens)
            return None if w is None else w.text

        def encode_fn(tokenizer):
            return as_tokenizer(tokenizer).encode

        return truncate, (lambda doc, key: kv_prompt(doc, key, passes=1)), encode_fn, \
            "jrt.tasks.truncate_around_answer + jrt.prompt.kv_prompt"
    except Exception:  # pragma: no cover - only when the evaluation packages are missing
        return _truncate_local, _kv_prompt_local, \
            (lambda tok: (lambda s: tok.encode(s, add_special_tokens=False))), \
            "jrt.train.recall_format local copy"


def truncation_source() -> str:
    return _impl()[3]


@dataclass
class RecallExample:
    doc_id: str
    key: str
    value: str
    prompt: str  # "{ctx}. {Key}:"
    target: str  # " {value}\n"

    @property
    def text(self) -> str:
        return self.prompt + self.target


class RecallBuilder:
    """Builds the examples of one document (tokenized once, as the evaluation does)."""

    def __init__(self, tokenizer, context_length: int = CONTEXT_LENGTH, answer_length: int = ANSWER_LENGTH):
        self.truncate, self.kv_prompt, encode_fn, self.source = _impl()
        self.tokenizer = tokenizer
        self.encode = encode_fn(tokenizer)
        self.context_length = context_length
        self.answer_length = answer_length

    def examples(self, doc_id: str, raw_text: str, kvs) -> list[RecallExample]:
        text = raw_text.lstrip("\ufeff").strip()
        tokens = None
        out = []
        for key, value in kvs:
            value = value.strip()
            if len(value) <= 1 or len(key) <= 1:
                continue
            if tokens is None:
                tokens = self.encode(text)
            window = self.truncate(text, [key, value], self.tokenizer, self.context_length,
                                   self.answer_length, tokens=tokens)
            if window is None:
                continue
            out.append(RecallExample(doc_id, key, value, self.kv_prompt(window, key), f" {value}\n"))
        return out


def build_recall_example(doc_id: str, text: str, key: str, value: str, tokenizer,
                         context_length: int = CONTEXT_LENGTH, answer_length: int = ANSWER_LENGTH):
    """One example (or None if the annotation is unusable)."""
    exs = RecallBuilder(tokenizer, context_length, answer_length).examples(doc_id, text, [(key, value)])
    return exs[0] if exs else None
