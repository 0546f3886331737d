"""lm-evaluation-harness model adapter: ``@register_model("jrt")``.

A JRT-RNN / Based checkpoint folder, a JRT preset name (random weights: smoke tests only), or any
local Hugging Face causal LM folder (Llama, Mamba, Mamba2, GLA, ...). It implements
``generate_until`` (the recall tasks issue nothing else) through :class:`jrt.eval.generation.Generator`,
the way lm-eval's ``hf`` model does: requests sorted by prompt length (longest first) and grouped
by generation kwargs (lm-eval's ``Collator``), batched, left-padded with an attention mask,
left-truncated to ``max_length - max_gen_toks``, greedy, stopped at ``until`` (+ EOS). Unlike
``hf`` it needs neither ``accelerate`` nor the hub.

model_args: ``pretrained=PATH_OR_PRESET, tokenizer=PATH, prefix_fill=pad|repeat,
dtype=float32|bfloat16|float16, device=cpu|cuda, batch_size=N, max_length=2048``.
"""
from __future__ import annotations

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from tqdm import tqdm

from jrt.eval.generation import Generator, is_jrt_model, load_causal_lm

__all__ = ["JRTLM", "load_causal_lm", "is_jrt_model"]


@register_model("jrt")
class JRTLM(LM):
    """generate_until for a JRT-RNN/Based model (folder or preset) or any local HF causal LM."""

    def __init__(self, pretrained: str, tokenizer: str | None = None, prefix_fill: str = "pad",
                 device: str | None = None, dtype: str | None = None, batch_size: int | str = 8,
                 max_length: int | None = None, max_gen_toks: int = 256, **kwargs):
        super().__init__()
        size = str(batch_size).split(":")[0]
        self.generator = Generator(pretrained, tokenizer=tokenizer, prefix_fill=prefix_fill, device=device,
                                   dtype=dtype, batch_size=int(size) if size.isdigit() else 8,
                                   max_length=int(max_length) if max_length else None)
        self.default_max_gen_toks = int(max_gen_toks)

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        """lm-eval CLI construction: ``model_args`` win over the CLI's ``--device``/``--batch_size``
        (lm-eval would otherwise pass ``device`` twice when model_args also name it)."""
        from lm_eval.utils import simple_parse_args_string

        args = simple_parse_args_string(arg_string or "")
        for key, value in (additional_config or {}).items():
            if value is not None and key not in args:
                args[key] = value
        return cls(**args)

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict, additional_config: dict | None = None):
        args = dict(arg_dict or {})
        for key, value in (additional_config or {}).items():
            if value is not None and key not in args:
                args[key] = value
        return cls(**args)

    # -- passthroughs ----------------------------------------------------------------------
    @property
    def tokenizer(self):
        return self.generator.tokenizer

    @property
    def model(self):
        return self.generator.model

    @property
    def device(self):
        return self.generator.device

    @property
    def is_jrt(self) -> bool:
        return self.generator.is_jrt

    @property
    def max_length(self) -> int:
        return self.generator.max_length

    @property
    def tokenizer_name(self) -> str:
        return str(getattr(self.tokenizer, "name_or_path", "tokenizer")).replace("/", "__")

    def get_model_info(self) -> dict:
        return self.generator.info()

    def generate(self, prompts, until=("\n",), max_gen_toks: int = 48):
        return self.generator.generate(list(prompts), until=until, max_gen_toks=max_gen_toks)

    # -- lm-eval API -----------------------------------------------------------------------
    def loglikelihood(self, requests):  # the recall tasks only generate
        raise NotImplementedError("the 'jrt' model adapter implements generate_until only")

    def loglikelihood_rolling(self, requests):
        raise NotImplementedError("the 'jrt' model adapter implements generate_until only")

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        from lm_eval.models.utils import Collator, normalize_gen_kwargs

        def sort_key(args):
            return -self.generator.n_tokens(args[0]), args[0]

        collator = Collator([req.args for req in requests], sort_fn=sort_key, group_by="gen_kwargs",
                            group_fn=lambda args: args[1])
        results: list[str] = []
        bar = tqdm(total=len(requests), disable=disable_tqdm, desc="jrt generate_until")
        for chunk in collator.get_batched(n=self.generator.batch_size):
            contexts, all_kwargs = zip(*chunk)
            gen = normalize_gen_kwargs(all_kwargs[0], self.default_max_gen_toks)
            if gen.get("do_sample"):
                raise ValueError("the recall tasks decode greedily; do_sample=True is not supported")
            texts = self.generator.generate(list(contexts), until=list(gen.get("until") or []),
                                            max_gen_toks=int(gen["max_gen_toks"]))
            for context, kw, text in zip(contexts, all_kwargs, texts):
                results.append(text)
                self.cache_hook.add_partial("generate_until", (context, kw), text)
            bar.update(len(texts))
        bar.close()
        return collator.get_original(results)
