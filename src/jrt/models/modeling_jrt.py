"""JRTForCausalLM: JRT-RNN (prefix linear attention) and Based as a Hugging Face causal LM.

    tokens -> embedding -> [RMSNorm -> mixer -> +residual -> RMSNorm -> SwiGLU -> +residual] x L
           -> RMSNorm -> tied LM head

Mixers by config.mixer_types: gated short convolution, prefix linear attention (the first
enc_length tokens read non-causally), causal Based linear attention, sliding-window attention.

The non-causal prefix of a row is its own first enc_length real tokens (left padding and the
other rows of a batch change nothing). Generation (gpt-fast style, explicit prefill then decode):
prefill runs the parallel form over the whole prompt once and leaves a JRTCache whose size does
not depend on the prompt length; each new token is then one recurrent (causal) step. So a prompt
shorter than enc_length is read non-causally as a whole, and a longer one has its first
enc_length tokens as the prefix.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from jrt.layers import (
    BasedAttention,
    PrefixLinearAttention,
    RMSNorm,
    ShortConvolution,
    SlidingWindowAttention,
    SwiGLU,
    prefix_columns,
)

from .cache import JRTCache
from .configuration_jrt import JRTConfig


def build_mixer(config: JRTConfig, kind: str) -> nn.Module:
    la_heads = config.linear_attention_heads or config.num_heads
    if kind == "conv":
        return ShortConvolution(config.hidden_size, config.conv_kernel, config.conv_expand, config.conv_bias,
                                config.conv_proj_bias)
    if kind == "pla":
        return PrefixLinearAttention(config.hidden_size, la_heads, config.feature_dim, config.ops_backend)
    if kind == "based":
        return BasedAttention(config.hidden_size, la_heads, config.feature_dim, config.ops_backend)
    if kind == "swa":
        return SlidingWindowAttention(config.hidden_size, config.num_heads, config.window_size, config.rope_base,
                                      config.rotary_dim, config.attention_bias)
    raise ValueError(f"unknown layer type {kind!r}")


class JRTBlock(nn.Module):
    def __init__(self, config: JRTConfig, layer_idx: int):
        super().__init__()
        self.kind = config.mixer_types[layer_idx]
        self.mixer_norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mixer = build_mixer(config, self.kind)
        self.mlp_norm = RMSNorm(config.hidden_size, config.rms_norm_eps) if config.use_mlp else None
        self.mlp = SwiGLU(config.hidden_size, config.intermediate_size, config.mlp_bias) if config.use_mlp else None

    def forward(self, x, mask, cache: dict | None, positions, enc_length, raw_key_mask=None):   # x [B, T, d]
        h = self.mixer_norm(x)
        if self.kind == "swa":
            x = x + self.mixer(h, mask, cache, positions)
        elif self.kind == "pla":
            x = x + self.mixer(h, mask, cache, enc_length, raw_key_mask)
        else:
            x = x + self.mixer(h, mask, cache)
        if self.mlp is not None:
            x = x + self.mlp(self.mlp_norm(x))
        return x


def check_loaded_weights(model: nn.Module, info: dict) -> None:
    """Raise ValueError when a loaded checkpoint lacked a tensor, had an extra one, or holds a
    non-finite weight. info: transformers' loading info (missing_keys, unexpected_keys, ...)."""
    tied = set(getattr(model, "_tied_weights_keys", None) or ()) if model.config.tie_word_embeddings else set()
    missing = sorted(k for k in info.get("missing_keys", ()) if k not in tied)
    unexpected = sorted(info.get("unexpected_keys", ()))
    mismatched = sorted(str(m[0]) if isinstance(m, tuple) else str(m) for m in info.get("mismatched_keys", ()))
    problems = []
    if missing:
        problems.append(f"missing tensors {missing}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected}")
    if mismatched:
        problems.append(f"tensors of the wrong shape {mismatched}")
    bad = [name for name, p in model.named_parameters() if p.is_floating_point() and not bool(torch.isfinite(p).all())]
    if bad:
        problems.append(f"non-finite (NaN/inf) weights in {bad}")
    if problems:
        raise ValueError("checkpoint does not match the model: " + "; ".join(problems))


class JRTPreTrainedModel(PreTrainedModel):
    config_class = JRTConfig
    base_model_prefix = "model"
    _no_split_modules = ["JRTBlock"]
    _supports_cache_class = False

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        return False  # the model builds its own constant-size JRTCache

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """PreTrainedModel.from_pretrained, made strict: a checkpoint with a missing or unexpected
        tensor, or a NaN/inf weight, raises ValueError naming it (transformers would only warn and
        initialise the missing tensors at random)."""
        want_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        check_loaded_weights(model, info)
        return (model, info) if want_info else model

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, RMSNorm):
            with torch.no_grad():
                module.weight.fill_(1.0)


class JRTModel(JRTPreTrainedModel):
    def __init__(self, config: JRTConfig):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(JRTBlock(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None,
                cache: JRTCache | None = None, enc_length: int | torch.Tensor | None = None) -> torch.Tensor:
        """input_ids [B, T]; attention_mask [B, T] (1 = real token) -> hidden states [B, T, d].

        enc_length: prefix length in real tokens of the "pla" layers, an int or one per row [B]
        (default: config.enc_length).

        With config.padding_semantics == "official" the mask reaches the "pla" layers only, as the
        official code's (see JRTConfig): every other layer reads pads as tokens, the prefix is the
        first enc_length columns, and pads' raw PLA keys are zeroed when T <= enc_length.
        """
        if enc_length is None:
            enc_length = self.config.enc_length
        batch, seq_len = input_ids.shape
        if cache is not None and cache.is_prefilled:  # decode: one token per row against the cache
            if seq_len != 1:
                raise ValueError(f"after prefill the cache takes one token per row at a time, got {seq_len}")
            hidden = self.decode_step(input_ids, cache)
            cache.seen_tokens += 1
            return hidden
        mask = None
        raw_key_mask = None
        if attention_mask is not None:
            mask = attention_mask[:, -seq_len:].bool()
            if self.config.padding_semantics == "official":
                if isinstance(enc_length, torch.Tensor):
                    raise ValueError("padding_semantics='official' takes one int enc_length for the batch")
                raw_key_mask = mask if seq_len <= int(enc_length) and not bool(mask.all()) else None
                mask = None
            elif bool(mask.all()):
                mask = None  # fast path: nothing to mask
        # rotary positions count real tokens only, so left padding does not shift them
        if mask is None:
            positions = torch.arange(seq_len, device=input_ids.device).expand(batch, seq_len)
        else:
            positions = (mask.long().cumsum(-1) - 1).clamp_min(0)
        x = self.embed_tokens(input_ids)                                   # [B, T, d]
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, cache.layers[i] if cache is not None else None, positions, enc_length, raw_key_mask)
        if cache is not None:
            cache.positions = positions[:, -1] + 1
            cache.seen_tokens += seq_len
        return self.norm(x)

    def decode_step(self, input_ids: torch.LongTensor, cache: JRTCache) -> torch.Tensor:
        """One token per row [B, 1] against a prefilled cache -> hidden [B, 1, d].

        Reads and writes tensors only, every cache update in place, and leaves the Python-side token
        count (cache.seen_tokens) to the caller: so a CUDA graph can replay it and torch.compile
        traces it once (an int it read would be specialised, one recompile per token)."""
        positions = cache.positions.unsqueeze(1)                          # [B, 1] rotary position
        x = self.embed_tokens(input_ids)                                  # [B, 1, d]
        for i, layer in enumerate(self.layers):
            x = layer(x, None, cache.layers[i], positions, self.config.enc_length)
        cache.positions.add_(1)                                           # in place
        return self.norm(x)


class JRTForCausalLM(JRTPreTrainedModel, GenerationMixin):
    _tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}

    def __init__(self, config: JRTConfig):
        super().__init__(config)
        self.model = JRTModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    # ------------------------------------------------------------------------------------------
    # forward

    def forward(self, input_ids: torch.LongTensor | None = None, attention_mask: torch.Tensor | None = None,
                labels: torch.LongTensor | None = None, past_key_values: JRTCache | None = None,
                use_cache: bool | None = None, return_dict: bool | None = None, logits_to_keep: int = 0,
                enc_length: int | torch.Tensor | None = None, **kwargs) -> CausalLMOutputWithPast:
        """input_ids [B, T] -> logits [B, T, V]. `labels` gives the next-token loss (-100 ignored);
        for JRT models a token inside its row's non-causal prefix is not a target (the positions
        before it already see it).

        enc_length: the prefix length of JRT models in real tokens, an int or one per row [B]
        (default: config.enc_length); each row's prefix is its own first enc_length real tokens.

        With use_cache, returns a JRTCache in `past_key_values`; pass it back with one new token.
        `logits_to_keep=n > 0` returns logits of the last n positions only ([B, n, V]), as Hugging Face
        models do (generate sets it to 1 for the prefill): at B=16, T=32k the full logits would be 52 GB.
        """
        if not isinstance(logits_to_keep, int) or logits_to_keep < 0:
            raise ValueError(f"logits_to_keep must be an int >= 0 (0 = all positions), got {logits_to_keep!r}")
        if labels is not None and logits_to_keep:
            raise ValueError("logits_to_keep cannot be combined with labels: the loss needs every position")
        if input_ids is None or input_ids.dim() != 2 or input_ids.shape[1] == 0:
            shape = None if input_ids is None else tuple(input_ids.shape)
            raise ValueError(f"input_ids must be a non-empty [B, T] tensor, got {shape}")
        if attention_mask is not None and attention_mask.shape[0] != input_ids.shape[0]:
            raise ValueError(f"attention_mask {tuple(attention_mask.shape)} does not match input_ids {tuple(input_ids.shape)}")
        if enc_length is None:
            enc_length = self.config.enc_length
        cache = past_key_values
        if use_cache and cache is None:
            cache = JRTCache(self.config.num_hidden_layers)
        hidden = self.model(input_ids, attention_mask, cache, enc_length)
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]                             # [B, n, d]
        logits = self.lm_head(hidden)                                       # [B, T or n, V]
        loss = None
        if labels is not None:
            targets = labels[:, 1:]                                        # position t predicts token t+1
            if self.config.is_jrt and input_ids.shape[1] > 1:
                # inside the non-causal prefix a position already sees the token it would predict:
                # next-token loss only on tokens after the prefix (the JRT objective's NTP part;
                # its MLM part is jrt.train.objective's job)
                mask = None if attention_mask is None else attention_mask.bool()
                width, in_prefix = prefix_columns(mask, input_ids.shape[1], enc_length)
                targets = targets.clone()
                if in_prefix is None:
                    targets[:, : max(width - 1, 0)] = -100
                elif width > 1:
                    targets[:, : width - 1][in_prefix[:, 1:]] = -100
            loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                                               targets.reshape(-1), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=cache if use_cache else None)

    def decode_logits(self, input_ids: torch.LongTensor, cache: JRTCache) -> torch.Tensor:
        """[B, 1] next tokens against a prefilled cache -> logits [B, V]; see JRTModel.decode_step
        (the caller counts cache.seen_tokens)."""
        return self.lm_head(self.model.decode_step(input_ids, cache))[:, -1]

    # ------------------------------------------------------------------------------------------
    # generation

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None,
                                      use_cache=True, logits_to_keep: int | None = None, **kwargs):
        if past_key_values is not None and past_key_values.is_prefilled:
            input_ids = input_ids[:, -1:]            # decode: one new token against the cache
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask,
                  "past_key_values": past_key_values, "use_cache": use_cache}
        if logits_to_keep is not None:
            inputs["logits_to_keep"] = logits_to_keep  # generate asks for the last position only
        return inputs

    def recurrent_state_bytes(self, batch_size: int = 1, dtype: torch.dtype | None = None) -> dict:
        """Bytes of the decode cache per layer kind and in total; independent of sequence length.

        Linear-attention states are float32 (S [H, E, D] + z [H, E]); conv and window caches hold
        activations in `dtype` (default: the model's parameter dtype).
        """
        cfg = self.config
        act_bytes = torch.finfo(dtype or self.dtype).bits // 8
        expanded = 1 + cfg.feature_dim + cfg.feature_dim**2
        la_heads = cfg.linear_attention_heads or cfg.num_heads
        la_state = la_heads * expanded * (cfg.hidden_size // la_heads + 1) * 4
        per_kind = {
            "conv": cfg.conv_expand * cfg.hidden_size * (cfg.conv_kernel - 1) * act_bytes,
            "pla": la_state,
            "based": la_state,
            "swa": 2 * cfg.hidden_size * cfg.window_size * act_bytes + cfg.window_size,  # k, v, valid flags
        }
        out: dict[str, int] = {}
        for kind in cfg.mixer_types:
            out[kind] = out.get(kind, 0) + per_kind[kind] * batch_size
        out["total"] = sum(out.values())
        return out

    @torch.no_grad()
    def generate(self, input_ids=None, attention_mask=None, prefix_fill: str = "pad", **kwargs):
        """HF generate with the constant-size cache.

        For JRT models each prompt's first enc_length real tokens are its non-causal prefix (all of
        it when shorter). prefix_fill="repeat" first reads a prompt twice, [prompt, prompt] (the
        paper's read-2x padding: a short prompt fills the prefix with a second reading of itself
        instead of padding); "pad" (default) takes the prompt as it is. The returned sequences are
        [prompt, new tokens] as for any HF model (with the batch's own left padding, never an
        internal one).
        """
        if input_ids is None or input_ids.dim() != 2 or input_ids.shape[1] == 0:
            raise ValueError("generate needs a non-empty prompt: input_ids of shape [B, T] with T >= 1, got "
                             f"{None if input_ids is None else tuple(input_ids.shape)}")
        if prefix_fill not in ("pad", "repeat"):
            raise ValueError(f"prefix_fill must be 'pad' or 'repeat', got {prefix_fill!r}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask {tuple(attention_mask.shape)} must match input_ids {tuple(input_ids.shape)}")
        if bool((attention_mask.sum(-1) == 0).any()):
            raise ValueError("generate: a prompt in the batch is empty (its attention_mask is all zeros)")
        original_ids = input_ids
        model_ids, model_mask = input_ids, attention_mask
        if self.config.is_jrt:
            model_ids, model_mask = self._fill_prefix(input_ids, attention_mask, prefix_fill)
        kwargs.setdefault("pad_token_id", self.config.pad_token_id)
        out = super().generate(input_ids=model_ids, attention_mask=model_mask, **kwargs)
        sequences = out if isinstance(out, torch.Tensor) else out.sequences
        new_tokens = sequences[:, model_ids.shape[1]:]
        result = torch.cat([original_ids, new_tokens], dim=1)
        if isinstance(out, torch.Tensor):
            return result
        out.sequences = result
        return out

    def _fill_prefix(self, input_ids, attention_mask, prefix_fill: str):
        """"pad": the batch as it is; "repeat": each prompt read twice, [prompt, prompt], left-padded."""
        if prefix_fill == "pad":
            return input_ids, attention_mask
        rows = [ids[mask.bool()] for ids, mask in zip(input_ids, attention_mask)]
        rows = [torch.cat([r, r]) for r in rows]
        width = max(len(r) for r in rows)
        pad_id = self.config.pad_token_id if self.config.pad_token_id is not None else 0
        ids = input_ids.new_full((len(rows), width), pad_id)
        mask = attention_mask.new_zeros((len(rows), width))
        for i, r in enumerate(rows):
            ids[i, width - len(r):] = r
            mask[i, width - len(r):] = 1
        return ids, mask
