"""Prefix linear attention (PLA, JRT-RNN) in Triton.

Forward: the prefix state (S_p, z_p) = sum_{p<P} m_p phi(k_enc_p) [v_enc_p, 1] is built non-causally
by the chunked kernel in state-only mode (grid over value blocks x segments x B*H, segment partial
sums added in torch); the causal forward (the symmetric or the full kernel, walk or chunk-parallel:
based_chunk.plan) then runs over q, k, v starting from initial_state + prefix state. Backward:
the causal backward also returns the gradient of its initial state, dS = sum_t phi(q_t) g_t^T,
dz = sum_t phi(q_t) h_t, from which one fully parallel launch (one chunk of k_enc per program)
gives dk_enc, dv_enc.
"""
from __future__ import annotations

from .based_chunk import BasedChunkFunction


def prefix_linear_attention_triton(q, k, v, k_enc, v_enc, initial_state=None, output_final_state=False,
                                   key_padding_mask=None, eps=1e-12, prefix_mask=None, kernel=None, schedule=None):
    """q, k [B, T, H, F]; v [B, T, H, D]; k_enc [B, P, H, F]; v_enc [B, P, H, D]; prefix_mask [B, P] or None
    (None: every prefix column counts) -> (o, state or None). kernel, schedule: the causal part's
    forward kernel and schedule (based_chunk.plan)."""
    init_s, init_z = (None, None) if initial_state is None else initial_state
    if prefix_mask is None and key_padding_mask is not None:
        prefix_mask = key_padding_mask[:, : k_enc.shape[1]]
    o, s, z = BasedChunkFunction.apply(q, k, v, k_enc, v_enc, key_padding_mask, init_s, init_z,
                                       float(eps), bool(output_final_state), prefix_mask, kernel, schedule)
    return o, ((s, z) if output_final_state else None)
