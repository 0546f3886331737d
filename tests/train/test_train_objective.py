"""The JRT objective: MLM only on ~15% of prefix positions before the last, NTP from the last prefix
position on (the first position whose target lies outside the non-causal prefix)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from jrt.train.objective import Counts, compute_loss, mlm_mask_for_samples


class LogitsProbe(torch.nn.Module):
    """Returns a leaf logits tensor (so its gradient shows which positions carry loss) and records
    the input ids it was called with."""

    def __init__(self, B, L, V):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.randn(B, L, V))
        self.seen = None

    def forward(self, input_ids):
        self.seen = input_ids.clone()
        return type("Out", (), {"logits": self.logits})()


def test_mask_only_prefix_about_15_percent():
    L, P = 256, 128
    mask = mlm_mask_for_samples(range(400), P, L, seed=1111)
    assert mask.shape == (400, L) and mask.dtype == torch.bool
    assert not mask[:, P - 1:].any()  # the last prefix position carries the next-token loss
    frac = mask[:, :P - 1].float().mean().item()
    assert 0.14 < frac < 0.16, frac
    # per-sample determinism: independent of the batch a sample lands in
    again = mlm_mask_for_samples([7, 3], P, L, seed=1111)
    assert torch.equal(again[0], mask[7]) and torch.equal(again[1], mask[3])
    assert not torch.equal(mlm_mask_for_samples([7], P, L, seed=1)[0], mask[7])


def test_jrt_loss_positions_and_value():
    B, L, V, P, MASK = 3, 40, 17, 16, 16
    tokens = torch.randint(0, 16, (B, L + 1))
    mask = mlm_mask_for_samples(range(B), P, L, seed=0)
    assert mask.any()
    model = LogitsProbe(B, L, V)
    res = compute_loss(model, tokens, "jrt", enc_length=P, mask_token_id=MASK, mlm_mask=mask)
    res["loss"].backward()
    g = model.logits.grad.abs().sum(-1)  # [B, L]
    # inputs seen by the model: mask token exactly at masked prefix positions
    inputs = tokens[:, :-1]
    assert torch.equal(model.seen[mask], torch.full_like(model.seen[mask], MASK))
    assert torch.equal(model.seen[~mask], inputs[~mask])
    # loss only at masked prefix positions (MLM) and from the last prefix position on (NTP)
    assert not mask[:, P - 1:].any()
    assert (g[:, :P - 1][~mask[:, :P - 1]] == 0).all()
    assert (g[:, :P - 1][mask[:, :P - 1]] > 0).all()
    assert (g[:, P - 1:] > 0).all()
    # value: NTP (positions >= P - 1 predict the next token) + 0.25 * MLM (original token, same position)
    lg = model.logits.detach()
    ntp = F.cross_entropy(lg[:, P - 1:].reshape(-1, V), tokens[:, P:].reshape(-1))
    mlm = F.cross_entropy(lg[mask], inputs[mask])
    assert torch.allclose(res["loss"], ntp + 0.25 * mlm, atol=1e-5)
    assert torch.allclose(res["ntp"], ntp, atol=1e-5) and torch.allclose(res["mlm"], mlm, atol=1e-5)
    assert res["counts"] == Counts(ntp=B * (L - P + 1), mlm=int(mask.sum()))


def test_ntp_loss_every_position_same_tokens():
    B, L, V = 2, 12, 11
    tokens = torch.randint(0, V, (B, L + 1))
    model = LogitsProbe(B, L, V)
    res = compute_loss(model, tokens, "ntp")
    res["loss"].backward()
    assert (model.logits.grad.abs().sum(-1) > 0).all()
    assert torch.equal(model.seen, tokens[:, :-1])  # no masking for the baselines
    ref = F.cross_entropy(model.logits.detach().reshape(-1, V), tokens[:, 1:].reshape(-1))
    assert torch.allclose(res["loss"], ref, atol=1e-6)


def test_global_normaliser_makes_split_batches_add_up():
    """Sum of per-micro-batch losses with the step's counts == loss of the whole batch."""
    B, L, V, P = 4, 20, 9, 8
    tokens = torch.randint(0, 8, (B, L + 1))
    mask = mlm_mask_for_samples(range(B), P, L, seed=5)
    model = LogitsProbe(B, L, V)
    whole = compute_loss(model, tokens, "jrt", enc_length=P, mask_token_id=8, mlm_mask=mask)["loss"]
    counts = Counts(ntp=B * (L - P + 1), mlm=int(mask.sum()))
    parts = 0
    for rows in ([0, 1], [2, 3]):
        sub = LogitsProbe(2, L, V)
        sub.logits = torch.nn.Parameter(model.logits.detach()[rows])
        parts = parts + compute_loss(sub, tokens[rows], "jrt", enc_length=P, mask_token_id=8,
                                     mlm_mask=mask[rows], normalizer=counts)["loss"]
    assert torch.allclose(whole, parts, atol=1e-5)


def test_bad_mask_rejected():
    tokens = torch.randint(0, 8, (1, 11))
    bad = torch.zeros(1, 10, dtype=torch.bool)
    bad[0, 3] = True  # the last prefix position (enc_length - 1) carries the NTP loss, never MLM
    with pytest.raises(ValueError, match="enc_length"):
        compute_loss(LogitsProbe(1, 10, 9), tokens, "jrt", enc_length=4, mask_token_id=8, mlm_mask=bad)


def test_next_token_loss_positions_never_see_their_target():
    """Why NTP starts at P - 1 and not earlier (nor later): in a real JRT model the outputs at prefix
    positions change with any prefix token (the prefix is read non-causally, so NTP at t < P - 1 would
    see its target), while nothing up to P - 1 depends on token P, the target of position P - 1."""
    from jrt.baselines import build_by_name as build_model

    torch.manual_seed(0)
    model, _ = build_model("jrt-tiny", 256, 64)
    model.eval()
    P = model.config.enc_length
    x = torch.randint(0, 200, (1, P + 8))
    with torch.no_grad():
        base = model(input_ids=x).logits
        y = x.clone()
        y[0, P] = (x[0, P] + 1) % 200   # the target of position P - 1
        after_target = model(input_ids=y).logits
        z = x.clone()
        z[0, P - 2] = (x[0, P - 2] + 1) % 200   # the target of position P - 3
        inside = model(input_ids=z).logits
    assert torch.equal(after_target[0, :P], base[0, :P])          # P - 1 and before never see token P
    assert not torch.allclose(after_target[0, P:], base[0, P:])
    assert not torch.allclose(inside[0, P - 3], base[0, P - 3])    # an earlier position sees its target


def test_real_models_give_logits():
    """The objective runs on HF Llama, HF Mamba2 and a JRT preset alike (tiny, CPU)."""
    from jrt.baselines import build_by_name as build_model

    tokens = torch.randint(0, 200, (1, 33))
    for spec in ("hf-llama:tiny", "hf-mamba2:tiny", "jrt-tiny"):
        model, info = build_model(spec, 256, 32)
        obj = info["default_objective"]
        mask = mlm_mask_for_samples([0], 16, 32, seed=0) if obj == "jrt" else None
        res = compute_loss(model, tokens, obj, enc_length=16, mask_token_id=info["mask_token_id"] or 255,
                           mlm_mask=mask)
        res["loss"].backward()
        assert torch.isfinite(res["loss"])
