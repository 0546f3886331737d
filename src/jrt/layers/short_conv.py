"""Gated short convolution (the paper's BaseConv): y = out(silu(conv_k(u1)) * u2), [u1, u2] = in(x).

The depthwise convolution is causal with kernel k (3); its decode state is the last k-1 inputs.
Padded positions (mask False) enter the convolution as zeros, which is exactly what an unpadded
causal convolution sees before its first token: left padding changes nothing.
"""
from __future__ import annotations

import torch
from torch import nn


class ShortConvolution(nn.Module):
    """conv_bias: a bias on the depthwise filter (the official BaseConv has none); proj_bias: biases
    on the in and out projections."""

    def __init__(self, hidden_size: int, kernel_size: int = 3, expand: int = 2, conv_bias: bool = True,
                 proj_bias: bool = True):
        super().__init__()
        inner = expand * hidden_size
        self.kernel_size = kernel_size
        self.in_proj = nn.Linear(hidden_size, 2 * inner, bias=proj_bias)
        self.conv = nn.Conv1d(inner, inner, kernel_size, groups=inner, padding=0, bias=conv_bias)
        self.out_proj = nn.Linear(inner, hidden_size, bias=proj_bias)

    def empty_state(self, batch: int, device, dtype) -> torch.Tensor:
        return torch.zeros(batch, self.conv.in_channels, self.kernel_size - 1, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: dict | None = None):
        """x [B, T, d]; mask [B, T] bool or None; cache {"conv": [B, inner, k-1]} updated in place."""
        u1, u2 = self.in_proj(x).chunk(2, dim=-1)                           # [B, T, inner] each
        if mask is not None:
            u1 = u1 * mask.unsqueeze(-1).to(u1.dtype)
        u1 = u1.transpose(1, 2)                                              # [B, inner, T]
        if cache is not None and "conv" in cache:
            history = cache["conv"].to(u1.dtype)                             # the last k-1 inputs
        else:
            history = u1.new_zeros(u1.shape[0], u1.shape[1], self.kernel_size - 1)
        window = torch.cat([history, u1], dim=-1)                           # [B, inner, k-1+T]
        conv_out = self.conv(window).transpose(1, 2)                         # [B, T, inner]
        if cache is not None:
            last_inputs = window[..., -(self.kernel_size - 1):].detach()
            if "conv" in cache:
                cache["conv"].copy_(last_inputs)  # in place: CUDA-graph friendly decode
            else:
                cache["conv"] = last_inputs.clone()
        return self.out_proj(nn.functional.silu(conv_out) * u2)
