"""Trainer pieces: LR schedule, weight-decay groups, --max-time, HF baseline sizing."""
from __future__ import annotations

import json
import math

import pytest

from jrt.train.optim import lr_multiplier, param_groups
from jrt.train.trainer import TrainConfig, train


def test_lr_schedule_warmup_then_cosine_to_min():
    assert lr_multiplier(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_multiplier(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_multiplier(10, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_multiplier(55, 10, 100, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_multiplier(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_multiplier(500, 10, 100, 0.1) == pytest.approx(0.1)


def test_no_weight_decay_on_norms_and_biases():
    from jrt.baselines import build_by_name as build_model

    model, _ = build_model("hf-llama:tiny", 256, 32)
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all("norm" in names[id(p)] for p in no_decay["params"])
    assert any("embed" in names[id(p)] for p in decay["params"])


def test_hf_baselines_sized_to_match_preset():
    import torch

    from jrt.baselines import build_by_name as build_model

    with torch.device("meta"):
        sizes = {s: build_model(s, 50257, 2048)[1]["params"]
                 for s in ("jrt-small", "hf-llama:small", "hf-mamba2:small")}
    for s in ("hf-llama:small", "hf-mamba2:small"):
        assert abs(sizes[s] - sizes["jrt-small"]) / sizes["jrt-small"] < 0.05, sizes


def test_gla_without_fla_is_one_clear_error(monkeypatch):
    import sys

    from jrt.baselines import build_by_name as build_model

    monkeypatch.setitem(sys.modules, "fla", None)
    monkeypatch.setitem(sys.modules, "fla.models", None)
    with pytest.raises(ImportError, match="GLA needs flash-linear-attention") as err:
        build_model("hf-gla:small", 50257, 2048)
    # the underlying import error is in the message (a missing fla-core reads "No module named 'fla.ops'")
    assert "import fla.models said: ModuleNotFoundError: import of fla.models halted" in str(err.value)


def test_max_time_stops_and_reports(prepared, tmp_path):
    summary = train(TrainConfig(data=str(prepared[0]), out=str(tmp_path / "run"), model="hf-llama:tiny",
                                seq_len=32, micro_batch_size=2, max_steps=50, max_time=0.0,
                                eval_splits=("val",), eval_tokens=64, tensorboard=False, progress=False,
                                save_final_model=False))
    assert summary["steps"] == 1 and summary["stopped_by_time"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["tokens"] == 64
