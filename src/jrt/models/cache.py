"""The decode cache of JRTForCausalLM: one small dict per layer, its size fixed after prefill.

conv: the last kernel-1 inputs; pla/based: (S [B,H,E,D], z [B,H,E]) in float32; swa: a ring
buffer of the last `window` keys and values. `positions` counts the real tokens seen per row
(rotary positions of the sliding-window layers). Nothing grows with the sequence length.
"""
from __future__ import annotations

import torch


class JRTCache:
    is_compileable = False

    def __init__(self, num_layers: int):
        self.layers: list[dict] = [{} for _ in range(num_layers)]
        self.positions: torch.Tensor | None = None   # [B] next rotary position per row
        self.seen_tokens = 0                         # columns processed (pads included)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.seen_tokens

    @property
    def is_prefilled(self) -> bool:
        return self.seen_tokens > 0

    def nbytes(self) -> int:
        """Bytes held by the cache (tensors only)."""
        total = 0 if self.positions is None else self.positions.nelement() * self.positions.element_size()
        for layer in self.layers:
            for value in layer.values():
                if isinstance(value, torch.Tensor):
                    total += value.nelement() * value.element_size()
        return total

    def reorder_cache(self, beam_idx: torch.LongTensor):
        for layer in self.layers:
            for key, value in layer.items():
                if isinstance(value, torch.Tensor):
                    layer[key] = value.index_select(0, beam_idx.to(value.device))
        if self.positions is not None:
            self.positions = self.positions.index_select(0, beam_idx.to(self.positions.device))
