"""Training objectives, computed from the logits of any causal-LM-shaped model.

Both objectives take the same token batch ``tokens [B, L + 1]`` (inputs ``tokens[:, :L]``, next
tokens ``tokens[:, 1:]``), so every model in a comparison sees the same tokens in the same order.

- ``ntp``: plain next-token prediction on every position (Based, Transformer, Mamba baselines).
- ``jrt``: docs/DESIGN.md "Training objective": a per-position Bernoulli(0.15) over the
  first P - 1 *input* positions (P = enc_length) picks tokens that are replaced (100%) by the mask
  token and predicted at their own position (MLM); positions t >= P - 1 predict token t + 1 (NTP).
  No NTP at t < P - 1: the prefix is read non-causally, so those positions see their target. The
  last prefix position P - 1 sees tokens 0..P-1 only and its target, token P, lies outside the
  prefix, so its NTP loss is leak-free; it is also the position generation reads the first new
  token from when a prompt fills the prefix. The reference code starts NTP at P and leaves that
  position untrained, which makes a model that reads a question in its prefix unable to start the
  answer. loss = NTP + 0.25 * MLM (not divided by 1.25, as in the reference code).

Losses are token sums divided by ``normalizer`` counts. By default those are the counts of this
batch (a plain mean). The trainer passes the counts of the whole optimizer step across all
micro-batches and ranks, which makes the gradient independent of how a global batch is split
(DDP on 2 processes == 1 process with the same global batch, exactly up to float summation order).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MLM_PROBABILITY = 0.15
MLM_WEIGHT = 0.25


def ntp_start(enc_length: int, seq_len: int) -> int:
    """First position with a next-token loss under the JRT objective: the last prefix position."""
    return max(min(int(enc_length), int(seq_len)) - 1, 0)


def mlm_mask_for_samples(sample_indices, enc_length: int, seq_len: int, seed: int,
                         probability: float = MLM_PROBABILITY) -> torch.Tensor:
    """Bool [B, L]: True at masked prefix positions (the first P - 1; position P - 1 carries the NTP
    loss instead). Deterministic per (seed, global sample index).

    The mask depends only on the sample's global index, never on the batch layout or on RNG state,
    so resumed runs and any number of processes draw the same masks.
    """
    P = min(int(enc_length), int(seq_len))
    start = ntp_start(enc_length, seq_len)
    rows = []
    for k in sample_indices:
        r = np.zeros(seq_len, dtype=bool)
        r[:P] = np.random.default_rng([int(seed), 0x4D4C4D, int(k)]).random(P) < probability
        r[start:] = False
        rows.append(r)
    return torch.from_numpy(np.stack(rows))


def apply_mlm_mask(input_ids: torch.Tensor, mlm_mask: torch.Tensor, mask_token_id: int) -> torch.Tensor:
    """Replace masked positions by ``mask_token_id`` (no 80/10/10 scheme, as in the paper's code)."""
    if mask_token_id is None:
        raise ValueError("the JRT objective needs a mask token id (cfg.mask_token_id), got None")
    return input_ids.masked_fill(mlm_mask.to(input_ids.device), int(mask_token_id))


@dataclass
class Counts:
    """Number of loss targets in a batch (or a whole step): the loss normalisers."""
    ntp: int
    mlm: int


def jrt_counts(seq_len: int, enc_length: int, batch: int, mlm_mask: torch.Tensor | None) -> Counts:
    return Counts(ntp=batch * (seq_len - ntp_start(enc_length, seq_len)), mlm=int(mlm_mask.sum()) if mlm_mask is not None else 0)


def ntp_counts(seq_len: int, batch: int) -> Counts:
    return Counts(ntp=batch * seq_len, mlm=0)


def get_logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    """Logits [B, T, V] from JRTForCausalLM, HF Llama/Mamba2 or any model returning .logits / a tuple."""
    out = model(input_ids=input_ids)
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


def _ce_sum(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # logits [N, V], targets [N]; float32 for a stable log-softmax under bf16 autocast
    return F.cross_entropy(logits.float(), targets, reduction="sum")


def ntp_loss(logits: torch.Tensor, targets: torch.Tensor, start: int = 0,
             normalizer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token loss over positions t >= start. logits [B, L, V], targets [B, L] (= tokens[:, 1:]).

    Returns (loss, token-sum) with loss = sum / normalizer (default: number of positions used).
    """
    V = logits.shape[-1]
    lg = logits[:, start:].reshape(-1, V)
    tg = targets[:, start:].reshape(-1)
    s = _ce_sum(lg, tg)
    n = normalizer if normalizer is not None else tg.numel()
    return s / max(n, 1), s.detach()


def mlm_loss(logits: torch.Tensor, input_ids: torch.Tensor, mlm_mask: torch.Tensor,
             normalizer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked-LM loss: original token predicted at its own (masked) position."""
    m = mlm_mask.to(logits.device)
    s = _ce_sum(logits[m], input_ids[m]) if bool(m.any()) else logits.sum() * 0.0
    n = normalizer if normalizer is not None else int(m.sum())
    return s / max(n, 1), s.detach()


def compute_loss(model, tokens: torch.Tensor, objective: str, *, enc_length: int | None = None,
                 mask_token_id: int | None = None, mlm_mask: torch.Tensor | None = None,
                 normalizer: Counts | None = None, mlm_weight: float = MLM_WEIGHT) -> dict:
    """One forward pass and the objective's loss.

    tokens [B, L + 1] int64. ``objective`` is "ntp" or "jrt". For "jrt", ``mlm_mask`` [B, L] bool
    (from ``mlm_mask_for_samples``) picks prefix positions; it must not touch positions >= enc_length - 1.
    Returns {"loss", "ntp", "mlm", "ntp_sum", "mlm_sum", "counts"}.
    """
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    B, L = inputs.shape
    if objective == "ntp":
        counts = ntp_counts(L, B)
        norm = normalizer or counts
        logits = get_logits(model, inputs)
        loss, s = ntp_loss(logits, targets, 0, norm.ntp)
        return {"loss": loss, "ntp": loss.detach(), "mlm": None, "ntp_sum": s, "mlm_sum": None,
                "counts": counts}
    if objective != "jrt":
        raise ValueError(f"unknown objective {objective!r} (ntp or jrt)")
    if enc_length is None:
        raise ValueError("the JRT objective needs enc_length")
    start = ntp_start(enc_length, L)
    if mlm_mask is None:
        raise ValueError("the JRT objective needs mlm_mask [B, L] (see mlm_mask_for_samples)")
    if tuple(mlm_mask.shape) != (B, L):
        raise ValueError(f"mlm_mask must be [B, L] = {(B, L)}, got {tuple(mlm_mask.shape)}")
    if bool(mlm_mask[:, start:].any()):
        raise ValueError(f"mlm_mask touches positions >= enc_length - 1 = {start} (only the prefix before "
                         "its last position is masked; that position carries the next-token loss)")
    counts = jrt_counts(L, enc_length, B, mlm_mask)
    norm = normalizer or counts
    masked_inputs = apply_mlm_mask(inputs, mlm_mask, mask_token_id)
    logits = get_logits(model, masked_inputs)
    ntp, ntp_s = ntp_loss(logits, targets, start, norm.ntp)
    mlm, mlm_s = mlm_loss(logits, inputs, mlm_mask, norm.mlm)
    loss = ntp + mlm_weight * mlm
    return {"loss": loss, "ntp": ntp.detach(), "mlm": mlm.detach(), "ntp_sum": ntp_s,
            "mlm_sum": mlm_s, "counts": counts}
