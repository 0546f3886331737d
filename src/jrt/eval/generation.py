"""Batched greedy generation for any local causal LM (JRT/Based or Hugging Face), without lm-eval.

The lm-eval adapter (`jrt.eval.models.JRTLM`) and the lm-eval-free runner (`jrt eval --backend
native`) share this code, so both send the model the same token ids: prompts left-padded (attention
mask) to the longest in the batch, left-truncated to ``max_length - max_gen_toks``, greedy, stopped
when every row has produced a stop string (or EOS), the continuation cut at the first stop string.
``generate_all`` (the native runner) also keeps generating past stop strings that come before any
other text, so each answer has a second reading, ``after_blank``: leading whitespace and newlines
skipped, then cut. The first reading is unchanged by this (greedy rows are independent); the second
tells a model that answers on the next line, as FDA pages do (``Product code:\nLLH``), from one
that has no answer. For JRT models ``model.generate`` further left-pads a prompt shorter than ``enc_length``
(``prefix_fill="pad"``) or reads it twice first (``"repeat"``, the paper's read-2x padding).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

from jrt.models.loading import load_causal_lm  # re-exported: the eval API names it

__all__ = ["Answer", "Generator", "load_causal_lm", "is_jrt_model", "DEFAULT_MAX_LENGTH"]

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
           "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
DEFAULT_MAX_LENGTH = 2048  # the paper: max_length 2048 -> prompts <= 2000 tokens with 48 to generate


def is_jrt_model(model: Any) -> bool:
    return type(model).__name__ == "JRTForCausalLM" or \
        getattr(getattr(model, "config", None), "model_type", None) == "jrt"


def _max_length_of(config: Any) -> int:
    for attr in ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return DEFAULT_MAX_LENGTH


def _cut_at_stops(text: str, stops: Sequence[str]) -> str:
    for stop in stops:
        if stop:
            index = text.find(stop)
            if index >= 0:
                text = text[:index]
    return text


class _StopOnStrings:
    """Stops generation once every row's new tokens contain one of the stop strings.

    The new tokens are counted by calls (one per generated token), not from the prompt's width: a
    JRT model's ``generate`` may lengthen the prompt first (``prefix_fill="repeat"`` reads it twice),
    and a stop string inside the prompt must not count. ``past_leading``: a stop string counts only
    after the row's first non-whitespace character (EOS still stops at once: it is not whitespace)."""

    def __init__(self, tokenizer, stops: Sequence[str], batch_size: int, past_leading: bool = False):
        self.tokenizer = tokenizer
        self.stops = [s for s in stops if s]
        self.past_leading = past_leading
        self.done = [False] * batch_size
        self.n_new = 0
        # a stop string spans at most this many tokens, plus slack for merges
        self.lookback = max((len(tokenizer.encode(s, add_special_tokens=False)) for s in self.stops),
                            default=1) + 2

    def __call__(self, input_ids: torch.Tensor, scores=None, **kwargs) -> torch.Tensor:
        self.n_new += 1
        new = input_ids[:, -self.n_new:]
        rows = new.tolist() if self.past_leading else new[:, -self.lookback:].tolist()
        for row, ids in enumerate(rows):
            if not self.done[row]:
                text = self.tokenizer.decode(ids)
                if self.past_leading:
                    text = text.lstrip()
                self.done[row] = any(stop in text for stop in self.stops)
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)


class Answer(NamedTuple):
    """One greedy continuation read two ways."""
    text: str         # cut at the first stop string: the paper's answer, what ``contains`` scores
    after_blank: str  # leading whitespace and newlines skipped first, then cut at the first stop string


class Generator:
    """A tokenizer + causal LM pair that turns prompts into greedy continuations."""

    def __init__(self, pretrained: str, tokenizer: str | None = None, prefix_fill: str = "pad",
                 device: str | None = None, dtype: str | None = None, batch_size: int = 8,
                 max_length: int | None = None):
        from transformers import AutoTokenizer

        if prefix_fill not in ("pad", "repeat"):
            raise ValueError(f"prefix_fill must be 'pad' or 'repeat', got {prefix_fill!r}")
        from jrt.models import PRESET_NAMES
        from jrt.models.convert import default_tokenizer, is_hub_id

        if (str(pretrained) not in PRESET_NAMES and not is_hub_id(pretrained)
                and not Path(str(pretrained)).expanduser().exists()):
            raise FileNotFoundError(f"model path not found: {str(pretrained)!r} (nor a preset name: "
                                    f"{', '.join(PRESET_NAMES)}, nor a hub id owner/name)")
        tok_source = str(tokenizer or default_tokenizer(pretrained))
        try:
            tok = AutoTokenizer.from_pretrained(tok_source)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(
                f"could not load a tokenizer from {tok_source!r} (pass tokenizer=PATH): {exc}"
            ) from exc
        if tok.pad_token_id is None:  # GPT-2: pad with EOS (masked out anyway)
            tok.pad_token = tok.eos_token
        if dtype and str(dtype) != "auto" and str(dtype) not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
        torch_dtype = _DTYPES[str(dtype)] if dtype and str(dtype) != "auto" else None
        self.tokenizer = tok
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = load_causal_lm(str(pretrained), tokenizer=tok, dtype=torch_dtype).to(self.device)
        self.prefix_fill = prefix_fill
        self.is_jrt = is_jrt_model(self.model)
        self.batch_size = int(batch_size)
        self.max_length = int(max_length) if max_length else _max_length_of(self.model.config)
        self.name = str(pretrained)
        self.n_prompts = 0       # prompts generated for so far
        self.n_truncated = 0     # of those, left-truncated to max_length - max_gen_toks tokens

    def n_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def info(self) -> dict:
        return {
            "model_name": self.name,
            "model_num_parameters": sum(p.numel() for p in self.model.parameters()),
            "model_dtype": str(next(self.model.parameters()).dtype),
            "is_jrt": self.is_jrt,
            "prefix_fill": self.prefix_fill if self.is_jrt else None,
            "max_length": self.max_length,
            "n_prompts": self.n_prompts,
            "n_truncated_prompts": self.n_truncated,
        }

    def stop_strings(self, until: Sequence[str] | None) -> list[str]:
        """``until`` plus the EOS token's text (a continuation ends there too)."""
        eos_id = self.tokenizer.eos_token_id
        eos = self.tokenizer.decode([eos_id]) if eos_id is not None else None
        stops = list(until or [])
        if eos and eos not in stops:
            stops.append(eos)
        return stops

    def generate(self, prompts: list[str], until: Sequence[str] | None = ("\n",),
                 max_gen_toks: int = 48) -> list[str]:
        """Greedy continuations of one batch of prompts, cut at the first stop string."""
        stops = self.stop_strings(until)
        return [_cut_at_stops(text, stops) for text in self.continuations(prompts, stops, max_gen_toks)]

    @torch.no_grad()
    def continuations(self, prompts: list[str], stops: Sequence[str], max_gen_toks: int = 48,
                      past_leading: bool = False) -> list[str]:
        """Raw greedy continuations of one batch (stop strings included, not cut); generation ends
        when every row holds a stop string (with ``past_leading``: one after some other text)."""
        max_ctx = self.max_length - max_gen_toks
        if max_ctx <= 0:
            raise ValueError(f"max_gen_toks ({max_gen_toks}) must be below max_length ({self.max_length})")
        old_side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"
        try:
            enc = self.tokenizer(list(prompts), padding="longest", return_tensors="pt",
                                 add_special_tokens=False, verbose=False)
        finally:
            self.tokenizer.padding_side = old_side
        lengths = enc["attention_mask"].sum(dim=1)
        cut = int((lengths > max_ctx).sum())
        self.n_prompts += len(prompts)
        if cut:
            self.n_truncated += cut
            warnings.warn(f"{cut} of {len(prompts)} prompts (longest {int(lengths.max())} tokens) were "
                          f"left-truncated to {max_ctx} tokens (max_length {self.max_length} - "
                          f"{max_gen_toks} generated); {self.n_truncated} of {self.n_prompts} so far",
                          stacklevel=2)
        input_ids = enc["input_ids"][:, -max_ctx:].to(self.device)           # [B, T] left-padded
        attention_mask = enc["attention_mask"][:, -max_ctx:].to(self.device)  # [B, T]
        kwargs: dict[str, Any] = dict(attention_mask=attention_mask, max_new_tokens=max_gen_toks,
                                      do_sample=False, pad_token_id=self.tokenizer.pad_token_id,
                                      use_cache=True)
        if stops:
            from transformers import StoppingCriteriaList

            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [_StopOnStrings(self.tokenizer, stops, input_ids.shape[0], past_leading)])
        if self.is_jrt:
            kwargs["prefix_fill"] = self.prefix_fill
        out = self.model.generate(input_ids, **kwargs)                        # [B, T + new]
        return [self.tokenizer.decode(row, skip_special_tokens=False)
                for row in out[:, input_ids.shape[1]:].tolist()]

    def generate_all(self, prompts: Sequence[str], until: Sequence[str] | None = ("\n",),
                     max_gen_toks: int = 48, progress: bool = True) -> list[Answer]:
        """All prompts, longest first in batches of ``batch_size`` (as lm-eval), original order back;
        each continuation read as the paper does and after its leading blank (see the module doc)."""
        from tqdm import tqdm

        stops = self.stop_strings(until)
        order = sorted(range(len(prompts)), key=lambda i: (-self.n_tokens(prompts[i]), prompts[i]))
        results: list[Answer | None] = [None] * len(prompts)
        bar = tqdm(total=len(prompts), disable=not progress, desc="generate")
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            texts = self.continuations([prompts[i] for i in index], stops, max_gen_toks, past_leading=True)
            for i, text in zip(index, texts):
                results[i] = Answer(_cut_at_stops(text, stops), _cut_at_stops(text.lstrip(), stops))
            bar.update(len(index))
        bar.close()
        return results  # type: ignore[return-value]
