"""Perplexity during and after training, comparable across JRT and causal models."""
from __future__ import annotations

import math

import numpy as np
import torch

from .objective import get_logits


@torch.no_grad()
def evaluate_perplexity(model, split, seq_len: int, eval_from: int, max_tokens: int, micro_batch_size: int,
                        dist, autocast, report_all_positions: bool) -> dict:
    """Next-token loss and perplexity on contiguous sequences of `split`, on positions >= `eval_from`.

    Positions before `eval_from` are a JRT model's non-causal prefix, so only the later ones compare
    JRT and causal models fairly; causal models also report all positions. Sequences are spread over
    the ranks; a rank without one runs a zero-weight batch so the collectives stay aligned (FSDP).
    """
    available = (len(split.tokens) - 1) // seq_len
    if available < 1:
        return {"skipped": f"fewer than {seq_len + 1} tokens"}
    n_chunks = max(1, min(available, max_tokens // seq_len))
    mine = list(range(dist.rank, n_chunks, dist.world))
    n_batches = math.ceil(math.ceil(n_chunks / dist.world) / micro_batch_size)
    was_training = model.training
    model.eval()
    sums = [0.0, 0.0, 0.0, 0.0]  # loss sum and count from eval_from, loss sum and count over all positions
    for b in range(n_batches):
        chunks = mine[b * micro_batch_size:(b + 1) * micro_batch_size]
        weight = 1.0
        if not chunks:
            chunks, weight = [0], 0.0
        tokens = torch.from_numpy(np.stack([np.asarray(split.tokens[c * seq_len:c * seq_len + seq_len + 1],
                                                       dtype=np.int64) for c in chunks])).to(dist.device)
        with autocast():
            logits = get_logits(model, tokens[:, :-1])
        losses = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), tokens[:, 1:],
                                                   reduction="none")                       # [B, L]
        sums[0] += weight * float(losses[:, eval_from:].sum())
        sums[1] += weight * losses[:, eval_from:].numel()
        sums[2] += weight * float(losses.sum())
        sums[3] += weight * losses.numel()
    if was_training:
        model.train()
    totals = dist.all_reduce_sum(sums)
    loss = totals[0] / max(totals[1], 1)
    result = {"loss": loss, "ppl": math.exp(min(loss, 50)), "tokens": int(totals[1]), "from_position": eval_from}
    if report_all_positions:
        loss_all = totals[2] / max(totals[3], 1)
        result.update({"loss_all_positions": loss_all, "ppl_all_positions": math.exp(min(loss_all, 50))})
    return result
