"""Greedy decoding of a Hugging Face causal LM (Llama) with a static KV cache, the one-token step
captured once as a CUDA graph: the fair attention baseline for jrt.models.generation.RecurrentDecoder.

    decoder = StaticCacheDecoder(model, max_cache_len=T + N, cuda_graph=True)
    first = decoder.prefill(input_ids)          # [B]; eager, outside any graph
    token = decoder.step(first)                 # [B]; the first call captures, later calls replay

Written against transformers 5.x, where `StaticCache(config=..., max_cache_len=...)` allocates its
[B, H, max_cache_len, D] tensors lazily at the first update and each layer keeps its fill level in
a device tensor `cumulative_length` (advanced in place by `update`). Positions and the attention
mask of a decode step are derived from that tensor, so a captured step reads and advances it on
the device and no cache-position buffer has to be fed from the host; `rewind(n)` resets it.

The decode step attends over the whole static buffer (max_cache_len keys, later ones masked), as
HF's own static-cache decoding does: its cost is that of the allocated cache, not of the filled part.

If capture fails (any exception), the decoder falls back to eager static-cache steps and says so in
`mode` ("cuda-graph" or "eager") and `graph_error`; callers must report both.
"""
from __future__ import annotations

import torch


def kv_bytes_per_token(config, dtype: torch.dtype) -> int:
    """Bytes of K and V for one token over all layers (full-attention Llama-style config)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    return 2 * config.num_hidden_layers * kv_heads * head_dim * (torch.finfo(dtype).bits // 8)


class StaticCacheDecoder:
    """Greedy decode with a transformers StaticCache; optional CUDA graph for the decode step."""

    def __init__(self, model, max_cache_len: int, cuda_graph: bool = True, warmup_steps: int = 2):
        self.model = model
        self.max_cache_len = max_cache_len
        self.cuda_graph = cuda_graph
        self.warmup_steps = warmup_steps
        self.cache = None
        self.length = 0                 # host mirror of the cache fill level
        self.batch_size = None
        self.last_logits = None         # [B, V] logits of the prompt's last position (prefill)
        self.graph_error: str | None = None
        self._graph = None
        self._static_ids = None
        self._static_next = None

    @property
    def mode(self) -> str:
        return "cuda-graph" if self._graph is not None else "eager"

    # ------------------------------------------------------------------------------------------

    def rewind(self, length: int) -> None:
        """Sets every layer's fill level to `length` (in place, so a captured graph stays valid).
        Stale keys/values beyond it stay in the buffer but are masked out by position."""
        for layer in self.cache.layers:
            cl = layer.cumulative_length
            if isinstance(cl, torch.Tensor):
                cl.fill_(length)
            else:
                layer.cumulative_length = length
        self.length = length

    @torch.no_grad()
    def prefill(self, input_ids: torch.LongTensor) -> torch.LongTensor:
        """Runs the prompt [B, T] into the static cache (reused, rewound to 0, when B is unchanged)."""
        from transformers import StaticCache

        batch, seq_len = input_ids.shape
        if seq_len >= self.max_cache_len:
            raise ValueError(f"prompt of {seq_len} tokens leaves no room in a cache of {self.max_cache_len}")
        if self.cache is None or batch != self.batch_size:
            self.cache = StaticCache(config=self.model.config, max_cache_len=self.max_cache_len)
            self.batch_size = batch
            self._graph = None
        else:
            self.rewind(0)
        out = self.model(input_ids, past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        self.length = seq_len
        self.last_logits = out.logits[:, -1]
        return self.last_logits.argmax(-1)                                     # [B]

    def _forward(self, ids: torch.LongTensor) -> torch.LongTensor:
        logits = self.model(ids, past_key_values=self.cache, use_cache=True, logits_to_keep=1).logits
        return logits[:, -1].argmax(-1)

    @torch.no_grad()
    def eager_step(self, token: torch.LongTensor) -> torch.LongTensor:
        self._check_room()
        out = self._forward(token.view(-1, 1))
        self.length += 1
        return out

    def _check_room(self) -> None:
        if self.cache is None:
            raise RuntimeError("call prefill() before step()")
        if self.length >= self.max_cache_len:
            raise RuntimeError(f"static cache full ({self.max_cache_len} tokens); rewind() or a larger cache")

    def _capture(self, token: torch.LongTensor) -> None:
        start = self.length
        if start + self.warmup_steps > self.max_cache_len:
            raise RuntimeError("no room in the static cache for the warm-up steps before capture")
        self._static_ids = token.view(-1, 1).clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        # warm-up on a side stream (allocator, cuBLAS workspaces, lazy inits), as torch.cuda.graphs asks;
        # the steps advance the fill level, which is rewound before capture
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(self.warmup_steps):
                self._forward(self._static_ids)
        torch.cuda.current_stream().wait_stream(stream)
        self.rewind(start)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            self._static_next = self._forward(self._static_ids)                # [B]; not executed here
        torch.cuda.synchronize()
        self._graph = graph

    def step(self, token: torch.LongTensor) -> torch.LongTensor:
        """Feeds token [B], returns the next greedy token [B] (a static buffer when graphed: clone it to keep)."""
        self._check_room()
        if self.cuda_graph and self._graph is None and self.graph_error is None:
            start = self.length
            try:
                self._capture(token)
            except Exception as exc:  # recorded by the caller through mode / graph_error, never silent
                self.graph_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                self._graph = None
                self._static_next = None
                try:
                    torch.cuda.synchronize()
                except Exception:
                    pass
                self.rewind(start)
        if self._graph is None:
            return self.eager_step(token)
        self._static_ids.copy_(token.view(-1, 1))
        self._graph.replay()
        self.length += 1
        return self._static_next
