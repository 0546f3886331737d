"""Functional ops of JRT: Taylor feature map, Based and prefix linear attention, one-token decode.

Layout: q, k [B, T, H, F]; v, o [B, T, H, D]; states (S [B, H, E, D], z [B, H, E]) in float32,
E = 1 + F + F*F. See docs/DESIGN.md for the formulas; ops/naive.py is the reference.
"""
from .based import based_linear_attention
from .decode import based_decode_step, empty_state
from .feature_map import taylor_feature_dim, taylor_feature_map
from .prefix import prefix_linear_attention

__all__ = [
    "taylor_feature_map",
    "taylor_feature_dim",
    "based_linear_attention",
    "prefix_linear_attention",
    "based_decode_step",
    "empty_state",
]
