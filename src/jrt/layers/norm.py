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
        # x * rsqrt(mean(x^2) + eps) * weight in float32 through torch's rms_norm: on CUDA (torch 2.11)
        # it replaced 5 of the ~9 elementwise launches of the spelled-out formula (the casts of a
        # bf16 model remain; .float() of a float32 tensor launches nothing). Launch count bounds the
        # graphed decode step (docs/BENCHMARKS.md, decode-step profile). Older torch builds run
        # rms_norm as a composite of the same operations: same numbers, no fewer launches.
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)
