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

Held-out documents never enter: the caller passes only training documents' annotations.
"""
from __future__ import annotations

import re
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


def render(template: int, ctx: str, key: str) -> str:
    return TEMPLATES[template][1].format(ctx=ctx, key=key, Key=key[:1].upper() + key[1:])


class CounterfactualBuilder:
    """Examples of one document at one context length (the document tokenized once by the caller)."""

    def __init__(self, tokenizer, pools: dict[str, list[str]], context_length: int,
                 answer_length: int = ANSWER_LENGTH):
        from jrt.tasks import as_tokenizer

        self.tokenizer = as_tokenizer(tokenizer)
        self.pools = pools
        self.context_length = context_length
        self.answer_length = answer_length

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
            template = int(rng.integers(len(TEMPLATES)))
            out.append(CounterfactualExample(source, doc_id, key, value, new, self.context_length, template,
                                             render(template, ctx, key), f" {new}\n"))
        return out
