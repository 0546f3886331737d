"""The 2nd-order Taylor feature map of Based / JRT-RNN.

phi(x) = concat(1, x / F**0.25, vec(x x^T) / (sqrt(2) * sqrt(F)))       [..., F] -> [..., 1 + F + F*F]

so that phi(q) . phi(k) = 1 + (q.k)/sqrt(F) + (q.k)**2 / (2F), the 2nd-order Taylor series of
exp(q.k / sqrt(F)).
"""
from __future__ import annotations

import math

import torch


def taylor_feature_dim(feature_dim: int) -> int:
    """Size E of phi's output for inputs of size F: 1 + F + F*F (273 for F = 16)."""
    return 1 + feature_dim + feature_dim * feature_dim


def taylor_feature_map(x: torch.Tensor) -> torch.Tensor:
    """[..., F] -> [..., 1 + F + F*F]; computed in the dtype of x."""
    if x.dim() < 1 or x.shape[-1] < 1:
        raise ValueError(f"taylor_feature_map: x must have a non-empty last dimension, got shape {tuple(x.shape)}")
    feature_dim = x.shape[-1]
    constant = torch.ones_like(x[..., :1])                                       # [..., 1]
    linear = x / feature_dim**0.25                                               # [..., F]
    quadratic = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2)                  # [..., F*F]
    quadratic = quadratic / (math.sqrt(2.0) * math.sqrt(feature_dim))
    return torch.cat([constant, linear, quadratic], dim=-1)
