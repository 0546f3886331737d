"""AdamW with decoupled weight decay on matrices only, and a warm-up + cosine learning-rate schedule.

Shared by the real-text trainer (jrt.train.trainer) and the synthetic-recall runner
(jrt.synthetics.runner), so both train with the same recipe.
"""
from __future__ import annotations

import math

import torch


def param_groups(model, weight_decay: float) -> list[dict]:
    """Decay matrices (linear and embedding weights); no decay on norms, biases and other 1-D params."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lowered = name.lower()
        if param.ndim < 2 or "norm" in lowered or lowered.endswith(".bias"):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_multiplier(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up from 1/warmup to 1 over `warmup` steps, then cosine to `min_ratio` at `total`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """The schedule as a picklable callable (LambdaLR.state_dict keeps its settings)."""

    def __init__(self, warmup: int, total: int, min_ratio: float):
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        return lr_multiplier(step, self.warmup, self.total, self.min_ratio)


def build_optimizer(model, lr: float, weight_decay: float, betas=(0.9, 0.95), eps: float = 1e-8,
                    fused: bool = False) -> torch.optim.AdamW:
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=tuple(betas), eps=eps, fused=fused)


def build_schedule(optimizer, warmup: int, total: int, min_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup, total, min_ratio))
