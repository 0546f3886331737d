"""Counterfactual recall examples: training data in which copying is the only way to the answer.

One example per (training document, attribute, context length):

    1. cut the document to a token window around the attribute's value, as the evaluation does
       (`jrt.tasks.truncate_around_answer`, budget ``context_length - answer_length`` tokens);
    2. replace every occurrence of the value in the window (case-insensitive) by the value of the
       same attribute in *another* training document, one that does not already occur in the window;
    3. ask for the new value with one of `TEMPLATES`, question after or before the document.

The same page therefore appears with different values across examples and passes, so a model that
memorises "this page's publisher" is wrong on the next copy of the page: only reading the window
pays. The templates differ from both evaluation prompts (``"{ctx}. {Key}:"`` and the JRT-Prompt
form), so neither evaluation format is trained for; tests check both facts. Two of them end in the
same kind of cue as the evaluation, ``"{Key}:"`` on a line of its own: without them a model has
only seen "Key:" inside documents, where a newline follows it (FDA's "Product Code:\nLRG"), and
answers an evaluation prompt with an empty line.

Other forms of the old value can survive step 2: a surname alone in the prose ("bestselling
author Michaels"), a title's words in a review. Such an example contradicts itself (the window
names the old value, the target is the new one). `LeakCheck` finds them; the builder drops them
when given one (``jrt prepare-data --recall-drop-leaky``), and `scripts/counterfactual_leaks.py`
counts them.

Held-out documents never enter: the caller passes only training documents' annotations.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# (where the question goes, template); {ctx} is the window, {key} the attribute name
TEMPLATES = (
    ("after", "{ctx}\n\nQ: What is the {key}?\nA:"),
    ("after", "{ctx}\n\nIn the text above, the {key} is"),
    ("before", "Question: what is the {key}?\nText: {ctx}\nAnswer:"),
    ("before", "Find the {key} in this page.\n\n{ctx}\n\n{Key} ->"),
    ("after", "{ctx}\n\n{Key}:"),
    ("before", "The {key} is asked for below.\n\n{ctx}\n\n{Key}:"),
)
ANSWER_LENGTH = 50


@dataclass
class CounterfactualExample:
    source: str        # annotation source, e.g. "swde_book_kv"
    doc_id: str
    key: str
    original: str      # the document's own value (replaced)
    value: str         # the substituted value: the target
    context_length: int
    template: int
    prompt: str
    target: str        # " {value}\n"

    @property
    def name(self) -> str:
        return f"recall/{self.source}/{self.doc_id}/{self.key}/{self.context_length}"


def value_pools(annotations: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """key -> sorted distinct values over the given documents (the substitutes for that attribute)."""
    pools: dict[str, set[str]] = {}
    for kvs in annotations.values():
        for key, value in kvs:
            value = value.strip()
            if len(value) > 1:
                pools.setdefault(key, set()).add(value)
    return {k: sorted(v) for k, v in pools.items()}


def substitute(window: str, old: str, new: str) -> str:
    """Every case-insensitive occurrence of `old` in `window` replaced by `new`."""
    return re.sub(re.escape(old), lambda _: new, window, flags=re.IGNORECASE)


def pick_substitute(pool: list[str], original: str, window: str, rng: np.random.Generator,
                    tries: int = 8) -> str | None:
    """A value of the same attribute that differs from the original and is absent from the window."""
    low_window, low_original = window.lower(), original.lower()
    for _ in range(tries):
        cand = pool[int(rng.integers(len(pool)))]
        low = cand.lower()
        if low != low_original and low not in low_window and low_original not in low:
            return cand
    return None


_WORD = re.compile(r"\w+")


class LeakCheck:
    """Which *distinctive* words of a replaced value still occur in an example's window.

    A word of the original value is distinctive when it has at least ``min_chars`` word characters
    (letters or digits), is not a word of the substitute, and occurs in fewer than ``max_df`` of the documents the
    examples come from (so "books", "press" or "device" never count); a word of a single document
    is always distinctive, however few the documents. Built once per annotation source from its
    training documents' texts.
    """

    def __init__(self, texts: Iterable[str], max_df: float = 0.02, min_chars: int = 4):
        if not 0 < max_df <= 1 or min_chars < 1:
            raise ValueError(f"max_df must be in (0, 1] and min_chars >= 1, got {max_df}, {min_chars}")
        n_docs = 0
        self.doc_freq: Counter = Counter()
        for text in texts:
            n_docs += 1
            self.doc_freq.update(set(_WORD.findall(text.lower())))
        self.max_docs = max(max_df * n_docs, 2)
        self.max_df = max_df
        self.min_chars = min_chars

    def distinctive(self, original: str, substitute: str) -> list[str]:
        new = set(_WORD.findall(substitute.lower()))
        return [w for w in _WORD.findall(original.lower())
                if len(w) >= self.min_chars and w not in new and self.doc_freq[w] < self.max_docs]

    def surviving(self, original: str, substitute: str, text: str) -> list[str]:
        """The distinctive words of `original` that occur as whole words in `text` (an example's prompt)."""
        low = text.lower()
        return [w for w in self.distinctive(original, substitute) if re.search(rf"\b{re.escape(w)}\b", low)]


def render(template: int, ctx: str, key: str) -> str:
    return TEMPLATES[template][1].format(ctx=ctx, key=key, Key=key[:1].upper() + key[1:])


class CounterfactualBuilder:
    """Examples of one document at one context length (the document tokenized once by the caller)."""

    def __init__(self, tokenizer, pools: dict[str, list[str]], context_length: int,
                 answer_length: int = ANSWER_LENGTH, leak_check: LeakCheck | None = None):
        from jrt.tasks import as_tokenizer

        self.tokenizer = as_tokenizer(tokenizer)
        self.pools = pools
        self.context_length = context_length
        self.answer_length = answer_length
        self.leak_check = leak_check  # when set, examples whose window still names the old value are dropped
        self.dropped_leaky = 0

    def examples(self, source: str, doc_id: str, text: str, kvs, tokens, rng: np.random.Generator):
        from jrt.tasks import truncate_around_answer

        out = []
        for key, value in kvs:
            value = value.strip()
            pool = self.pools.get(key, [])
            if len(value) <= 1 or len(key) <= 1 or len(pool) < 2:
                continue
            window = truncate_around_answer(text, [value], self.tokenizer, self.context_length,
                                            self.answer_length, tokens=tokens)
            if window is None or value.lower() not in window.text.lower():
                continue
            new = pick_substitute(pool, value, window.text, rng)
            if new is None:
                continue
            ctx = substitute(window.text.strip(), value, new)
            # the template is drawn before the leak check, so dropping an example leaves the random
            # stream (and with it every other example) as it would have been
            template = int(rng.integers(len(TEMPLATES)))
            prompt = render(template, ctx, key)
            if self.leak_check is not None and self.leak_check.surviving(value, new, prompt):
                self.dropped_leaky += 1
                continue
            out.append(CounterfactualExample(source, doc_id, key, value, new, self.context_length, template,
                                             prompt, f" {new}\n"))
        return out
