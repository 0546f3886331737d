"""Truncation of a context around its answer, as the paper's lm-eval fork (the paper, docs/DESIGN.md).

    budget = context_length - answer_length            (1000 - 50 = 950 tokens)
    tokens = tokenize(context.strip())                  (the evaluated model's tokenizer)
    answer_pos = earliest case-insensitive match of any anchor string (key or value, or answer)
    answer_tok_pos = len(tokenize(context[:answer_pos]))
    start = max(0, answer_tok_pos - budget // 2)
    end   = min(len(tokens), answer_tok_pos + (budget - (answer_tok_pos - start)))
    window = decode(tokens[start:end])

No match: the paper uses ``answer_pos = -1`` (so ``context[:-1]``), i.e. the tail of the document.
An anchor of length <= 1 drops the document (``None`` is returned). No anchors at all (``[]``, the
paper's ``answer_key=[]`` of TriviaQA and DROP) anchor at 0: the window is the document's start.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TokenizerAdapter", "as_tokenizer", "find_anchor", "truncate_around_answer", "Window"]


class TokenizerAdapter:
    """encode(str) -> list[int] without special tokens; decode(list[int]) -> str skipping them."""

    def __init__(self, encode: Callable[[str], Sequence[int]], decode: Callable[[Sequence[int]], str],
                 name: str = "custom"):
        self._encode = encode
        self._decode = decode
        self.name = name

    def encode(self, text: str) -> list[int]:
        return list(self._encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self._decode(list(ids))


def as_tokenizer(tokenizer: Any) -> TokenizerAdapter:
    """Accept an HF tokenizer, a path/name of one (loaded offline-capable with AutoTokenizer),
    a ``tokenizers.Tokenizer``, an (encode, decode) pair, or a TokenizerAdapter."""
    if isinstance(tokenizer, TokenizerAdapter):
        return tokenizer
    if tokenizer is None:
        raise ValueError(
            "a tokenizer is required: truncation counts tokens in the evaluated model's tokenizer "
            "(pass an HF tokenizer, a tokenizer folder, or an (encode, decode) pair)"
        )
    if isinstance(tokenizer, (str, bytes)) or hasattr(tokenizer, "__fspath__"):
        from transformers import AutoTokenizer

        path = str(tokenizer)
        try:
            hf = AutoTokenizer.from_pretrained(path)
        except Exception as exc:  # noqa: BLE001 - re-raised with the path in the message
            raise ValueError(f"could not load a tokenizer from {path!r}: {exc}") from exc
        return as_tokenizer(hf)
    if isinstance(tokenizer, tuple) and len(tokenizer) == 2 and all(callable(f) for f in tokenizer):
        return TokenizerAdapter(tokenizer[0], tokenizer[1])
    if hasattr(tokenizer, "encode") and hasattr(tokenizer, "decode"):
        name = getattr(tokenizer, "name_or_path", type(tokenizer).__name__)
        try:  # Hugging Face transformers tokenizer (verbose=False: documents exceed model_max_length)
            tokenizer.encode("probe", add_special_tokens=False, verbose=False)

            def encode(text: str) -> list[int]:
                return tokenizer.encode(text, add_special_tokens=False, verbose=False)

            def decode(ids: Sequence[int]) -> str:
                return tokenizer.decode(ids, skip_special_tokens=True)
        except TypeError:
            probe = tokenizer.encode("probe")
            if hasattr(probe, "ids"):  # `tokenizers.Tokenizer`: returns an Encoding

                def encode(text: str) -> list[int]:
                    return tokenizer.encode(text, add_special_tokens=False).ids

            else:

                def encode(text: str) -> list[int]:
                    return list(tokenizer.encode(text))

            def decode(ids: Sequence[int]) -> str:
                try:
                    return tokenizer.decode(ids, skip_special_tokens=True)
                except TypeError:
                    return tokenizer.decode(ids)

        return TokenizerAdapter(encode, decode, name=str(name))
    raise ValueError(f"unsupported tokenizer of type {type(tokenizer).__name__}")


def find_anchor(context: str, anchors: Sequence[str]) -> int:
    """Earliest case-insensitive character position of any anchor in ``context``; -1 if none."""
    low = context.lower()
    positions = [low.find(a.lower()) for a in anchors if a]
    positions = [p for p in positions if p >= 0]
    return min(positions) if positions else -1


@dataclass
class Window:
    text: str          # the decoded window (replaces the context before the prompt is built)
    n_tokens: int      # its length in tokens (<= budget)
    anchor_found: bool # whether an anchor string occurred in the document at all
    start: int         # token index of the window in the tokenized document
    end: int


def truncate_around_answer(context: str, anchors: Sequence[str], tokenizer: Any,
                           context_length: int = 1000, answer_length: int = 50,
                           tokens: Sequence[int] | None = None) -> Window | None:
    """Cut ``context`` to at most ``context_length - answer_length`` tokens around the earliest
    match of ``anchors``, as the paper. Returns None (drop the document) if an anchor has length <= 1.

    ``tokens`` may pass the already-tokenized ``context.strip()`` (one tokenization per document).
    """
    if context_length - answer_length <= 0:
        raise ValueError(
            f"context_length ({context_length}) must exceed answer_length ({answer_length})"
        )
    if anchors is None or any(a is None or len(a) <= 1 for a in anchors):
        return None
    tok = as_tokenizer(tokenizer)
    budget = context_length - answer_length
    text = context.strip()
    ids = list(tokens) if tokens is not None else tok.encode(text)
    answer_pos = find_anchor(text, anchors) if anchors else 0
    found = answer_pos >= 0
    answer_tok_pos = len(tok.encode(text[:answer_pos])) if answer_pos != 0 else 0
    start = max(0, answer_tok_pos - budget // 2)
    end = min(len(ids), answer_tok_pos + (budget - (answer_tok_pos - start)))
    if len(ids) <= budget:  # nothing to cut: keep the text exactly (no decode round trip)
        return Window(text, len(ids), found, 0, len(ids))
    return Window(tok.decode(ids[start:end]), end - start, found, start, end)
