"""Explicit prefill / decode (gpt-fast style) with an optional CUDA graph for the decode step.

`model.generate` (Hugging Face) is the general entry point; this module is the fast path used by
benchmarks/generate.py: one parallel prefill, then a decode step (`JRTForCausalLM.decode_logits`)
whose tensors never move, so it can be captured once as a CUDA graph and replayed for every token.
With ``compile=True`` the step is first compiled with torch.compile (Inductor fuses the norms,
activations, casts and cache copies that dominate a step's ~1,000 launches), then graphed.
"""
from __future__ import annotations

import torch

from .cache import JRTCache


class RecurrentDecoder:
    """Greedy decoding of a JRTForCausalLM with a constant-size cache.

    decoder = RecurrentDecoder(model, cuda_graph=True)
    first = decoder.prefill(input_ids, attention_mask)     # [B] first new token
    token = decoder.step(first)                            # [B] each call: one O(1) step
    logits = decoder.step_logits(token)                    # [B, V] the same step, logits instead

    compile: torch.compile the step (the first steps then take seconds to minutes to compile; the
    step is traced once, not once per token). Tokens equal the eager ones up to the fused kernels'
    float rounding (the tests check equality on small models).
    """

    def __init__(self, model, cuda_graph: bool = False, compile: bool = False):
        self.model = model
        self.cuda_graph = cuda_graph
        self.compile = compile
        self._step_logits = torch.compile(model.decode_logits, dynamic=False) if compile else model.decode_logits
        self.cache: JRTCache | None = None
        self._graph = None
        self._static_token = None
        self._static_logits = None

    @torch.no_grad()
    def prefill(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.LongTensor:
        """Runs the prompt (already left-padded to >= enc_length for JRT models) in one pass."""
        out = self.model(input_ids, attention_mask=attention_mask, use_cache=True, logits_to_keep=1)
        self.cache = out.past_key_values
        self._graph = None
        return out.logits[:, -1].argmax(-1)                                          # [B]

    @torch.no_grad()
    def _eager_step(self, token: torch.LongTensor) -> torch.Tensor:
        logits = self._step_logits(token.view(-1, 1), self.cache)                   # [B, V]
        self.cache.seen_tokens += 1
        return logits

    def _capture(self, token: torch.LongTensor) -> None:
        self._static_token = token.view(-1, 1).clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        # warm-up steps on a side stream (allocations, Triton compilation), as torch.cuda.graphs asks;
        # they advance the cache, so snapshot it and restore afterwards
        snapshot = [{k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in layer.items()}
                    for layer in self.cache.layers]
        positions = self.cache.positions.clone()
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(2):  # (with compile=True the first of these compiles)
                self._step_logits(self._static_token, self.cache)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            self._static_logits = self._step_logits(self._static_token, self.cache)
        for layer, saved in zip(self.cache.layers, snapshot):
            for key, value in saved.items():
                if isinstance(value, torch.Tensor):
                    layer[key].copy_(value)
        self.cache.positions.copy_(positions)
        self._graph = graph

    def step_logits(self, token: torch.LongTensor) -> torch.Tensor:
        """Feeds token [B] and returns the next-token logits [B, V]. With a CUDA graph this is the
        graph's static output buffer, overwritten by the next step: clone it to keep it."""
        if self.cache is None:
            raise RuntimeError("call prefill() before step()")
        if not self.cuda_graph:
            return self._eager_step(token)
        if self._graph is None:
            self._capture(token)
        self._static_token.copy_(token.view(-1, 1))
        self._graph.replay()
        self.cache.seen_tokens += 1
        return self._static_logits

    def step(self, token: torch.LongTensor) -> torch.LongTensor:
        """Feeds token [B] and returns the next greedy token [B]."""
        return self.step_logits(token).argmax(-1)


@torch.no_grad()
def greedy_generate(model, input_ids, attention_mask=None, max_new_tokens: int = 32, cuda_graph: bool = False,
                    prefix_fill: str = "pad", compile: bool = False) -> torch.LongTensor:
    """[B, T] prompt -> [B, max_new_tokens] greedy tokens, through RecurrentDecoder."""
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if model.config.is_jrt:
        input_ids, attention_mask = model._fill_prefix(input_ids, attention_mask, prefix_fill)
    decoder = RecurrentDecoder(model, cuda_graph=cuda_graph, compile=compile)
    token = decoder.prefill(input_ids, attention_mask)
    tokens = [token]
    for _ in range(max_new_tokens - 1):
        token = decoder.step(token)
        tokens.append(token)
    return torch.stack(tokens, 1)
