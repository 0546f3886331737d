"""Triton kernels of jrt.ops (reached through jrt.ops with backend="triton", or for CUDA tensors).

Entry points (inputs arrive validated by jrt.ops):
    based_linear_attention_triton(q, k, v, initial_state, output_final_state, key_padding_mask, eps,
                                  kernel=None, schedule=None)
    prefix_linear_attention_triton(q, k, v, k_enc, v_enc, initial_state, output_final_state, key_padding_mask, eps,
                                   prefix_mask=None, kernel=None, schedule=None)
    based_decode_step_triton(q, k, v, state, eps)
each returning (o, state); state = (S [B, H, E, D] fp32, z [B, H, E] fp32), E = 1 + F + F*F.
kernel ("sym" | "full") and schedule ("walk" | "chunk") choose the forward kernel and the
parallelisation (based_chunk.plan); their defaults and the per-architecture autotune sets are in
_configs.py.
Under TRITON_INTERPRET=1 they run on CPU tensors (slowly). See docs/KERNEL_NOTES.md.
"""
from .based_chunk import based_linear_attention_triton
from .decode import based_decode_step_triton
from .prefix import prefix_linear_attention_triton

__all__ = ["based_linear_attention_triton", "prefix_linear_attention_triton", "based_decode_step_triton"]
