"""nn.Modules of the JRT family. Each sequence mixer takes (x [B, T, d], mask [B, T] | None,
cache dict | None): with a cache it fills it during prefill and then advances one token at a time."""
from .based_attention import BasedAttention
from .mlp import SwiGLU
from .norm import RMSNorm
from .prefix_linear_attention import PrefixLinearAttention, prefix_columns
from .short_conv import ShortConvolution
from .sliding_window import SlidingWindowAttention, blocked_window_attention, rotary_embedding

__all__ = ["BasedAttention", "PrefixLinearAttention", "ShortConvolution", "SlidingWindowAttention",
           "SwiGLU", "RMSNorm", "blocked_window_attention", "rotary_embedding", "prefix_columns"]
