"""RMSNorm (prenorm in every block)."""
import torch
from torch import nn
from torch.nn import functional as F


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [..., d] -> [..., d]
        # x * rsqrt(mean(x^2) + eps) * weight in float32, through torch's rms_norm: one fused kernel
        # on CUDA instead of ~9 elementwise launches, which dominated the graphed decode step
        # (docs/BENCHMARKS.md, decode-step profile)
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)
