"""Models and their state bytes, the runner end to end, sweeps, plots and the CLI."""
import argparse
import json

import pytest
import torch

from jrt.synthetics.data import MQARSegment, MQARTask, SDSegment, SetDisjointnessTask, Variant
from jrt.synthetics.model_factory import (
    ModelSpec,
    based_state_elements,
    build_model,
    fla_available,
    mamba_state_size,
    state_bytes,
)
from jrt.synthetics.runner import RunConfig, TrainConfig, load_results, run, run_sweep


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    torch.set_num_threads(min(n, 2))
    yield
    torch.set_num_threads(n)


def test_state_bytes_line_up():
    d, f = 48, 8
    based = ModelSpec("based", d_model=d, feature_dim=f)
    elements = based_state_elements(based)
    assert elements == 2 * 2 * (1 + f + f * f) * (d // 2 + 1)  # 2 mixer layers, 2 heads
    mamba = ModelSpec("mamba2", d_model=d, feature_dim=f, num_layers=4)
    m = build_model(mamba, 64)
    sb = state_bytes(m, mamba, 100)
    assert sb["ssm"] == pytest.approx(4 * elements, rel=0.15)  # matched within rounding of d_state
    assert m.config.state_size == mamba_state_size(mamba)
    att = ModelSpec("attention", d_model=d, attention_layers=2)
    a = build_model(att, 64)
    assert state_bytes(a, att, 100)["total"] == 2 * 2 * 100 * d * 4
    assert state_bytes(a, att, 200)["total"] == 2 * state_bytes(a, att, 100)["total"]  # KV cache grows


def test_based_and_jrt_same_state_and_prefix_is_read():
    torch.manual_seed(0)
    spec_b, spec_j = ModelSpec("based", d_model=32, feature_dim=4), ModelSpec("jrt", d_model=32, feature_dim=4)
    b, j = build_model(spec_b, 64), build_model(spec_j, 64)
    sb, sj = state_bytes(b, spec_b, 50), state_bytes(j, spec_j, 50)
    assert sb["total"] == sj["total"] > 0
    assert [t for t in j.config.mixer_types] == ["conv", "pla", "conv", "pla"]
    x = torch.randint(0, 64, (2, 20))
    out10 = j(input_ids=x, enc_length=10).logits
    x2 = x.clone()
    x2[:, 9] = (x2[:, 9] + 1) % 64  # change a late prefix token: early positions see it non-causally
    assert not torch.allclose(j(input_ids=x2, enc_length=10).logits[:, :9], out10[:, :9])
    assert torch.allclose(j(input_ids=x2, enc_length=1).logits[:, :9], j(input_ids=x, enc_length=1).logits[:, :9],
                          atol=1e-6)


@pytest.mark.skipif(fla_available(), reason="fla installed")
def test_gla_is_optional():
    with pytest.raises(ImportError, match="fla"):
        build_model(ModelSpec("gla"), 64)


def test_runner_learns_easy_mqar(tmp_path):
    """A few dozen steps on an easy MQAR: well above chance (1/16 here)."""
    task = MQARTask(vocab_size=32, train=(MQARSegment(16, 2, 4000),), test=(MQARSegment(16, 2, 200),))
    cfg = RunConfig("smoke", task, ModelSpec("attention", d_model=32, num_heads=2, attention_layers=2),
                    train=TrainConfig(lr=1e-2, batch_size=32, max_steps=60, eval_every=20, warmup_frac=0.1))
    r = run(cfg, "cpu", tmp_path, progress=False)
    chance = 1 / (task.vocab_size // 2)  # values are drawn from the upper half of the vocabulary
    assert r["accuracy"] > 3 * chance, r["history"]
    assert r["history"][-1]["loss"] < r["history"][0]["loss"]
    assert set(r["slices"]) == {"T16_kv2"}
    json.dumps(r)  # serialisable


@pytest.mark.parametrize("kind,variant", [("based", Variant(num_passes=2)), ("jrt", Variant(prefix=True))])
def test_runner_recurrent_models_run(tmp_path, kind, variant):
    task = SetDisjointnessTask(64, train=(SDSegment(2, 6, 64), SDSegment(6, 2, 64)),
                               test=(SDSegment(2, 6, 16), SDSegment(6, 2, 16)))
    cfg = RunConfig("sd", task, ModelSpec(kind, d_model=16, feature_dim=4), variant,
                    TrainConfig(batch_size=16, max_steps=4, eval_every=4))
    r = run(cfg, "cpu", tmp_path, progress=False)
    assert r["steps"] == 4 and 0 <= r["accuracy"] <= 1
    assert {s["meta"]["order"] for s in r["slices"].values()} == {"short_first", "long_first"}


def test_jrt_needs_prefix_variant():
    with pytest.raises(ValueError, match="prefix"):
        RunConfig("x", MQARTask(), ModelSpec("jrt")).validate()
    with pytest.raises(ValueError, match="prefix"):
        RunConfig("x", MQARTask(), ModelSpec("based"), Variant(prefix=True)).validate()


def test_sweeps_build_and_cover_every_model():
    from jrt.synthetics.sweeps import load_sweep

    for name, must in [("mqar", {"Attention", "Based", "Based + JRT-Prompt x2", "JRT-RNN", "Mamba2",
                                 "Mamba2 + JRT-Prompt x2"}),
                       ("set-disjointness", {"Based", "JRT-RNN", "Based + JRT-Prompt x2", "Mamba2", "Attention"})]:
        cfgs = load_sweep(name).runs()
        assert len({c.name for c in cfgs}) == len(cfgs), "unique names"
        for c in cfgs:
            c.validate()
        labels = [c.label for c in cfgs]
        assert must <= set(labels)
        first = labels[: len(must) + 4]
        assert must <= set(labels[: 3 * len(must)]) or must <= set(first), "every model early in the order"
    demo = load_sweep("demo").runs()
    assert [c.label for c in demo] == ["Based", "Based + JRT-Prompt x2", "JRT-RNN"]
    assert len({c.model.d_model for c in demo}) == 1 and len({c.model.feature_dim for c in demo}) == 1


def test_sweep_budget_plot_and_cli(tmp_path):
    from jrt.synthetics import cli, plots

    task = MQARTask(vocab_size=32, train=(MQARSegment(16, 2, 256),), test=(MQARSegment(16, 2, 32),))
    tc = TrainConfig(batch_size=32, max_steps=3, eval_every=3)
    cfgs = [RunConfig(f"r{d}", task, ModelSpec("attention", d_model=d), train=tc) for d in (16, 32)]
    res = run_sweep(cfgs, tmp_path / "sw", "cpu", tmp_path / "cache", progress=False)
    assert len(res) == 2 and len(load_results(tmp_path / "sw")) == 2
    skipped = run_sweep(cfgs, tmp_path / "sw2", "cpu", tmp_path / "cache", max_minutes=0.0, progress=False)
    assert skipped == []  # budget spent before the first run
    meta = json.loads((tmp_path / "sw2" / "sweep_meta_0of1.json").read_text())
    assert meta["skipped"] == ["r16", "r32"]
    # CLI wiring: `synth` with func, and --plot writes the report
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli.register(sub)
    args = parser.parse_args(["synth", "--plot", str(tmp_path / "sw")])
    assert args.func(args) == 0
    assert (tmp_path / "sw" / "mqar_accuracy_vs_state.png").stat().st_size > 1000
    assert "Attention" in (tmp_path / "sw" / "table.txt").read_text()
    # set disjointness plot from synthetic results
    fake = [{"task_kind": "set_disjointness", "label": lbl, "state_bytes": sb, "accuracy": 0.5,
             "model": {"d_model": 8, "feature_dim": 4},
             "slices": {"A4_B32": {"accuracy": a, "n": 10, "meta": {"order": "short_first"}},
                        "A32_B4": {"accuracy": b, "n": 10, "meta": {"order": "long_first"}}}}
            for lbl, a, b in [("Based", 0.9, 0.3), ("JRT-RNN", 0.8, 0.8)] for sb in (1000, 4000)]
    assert plots.plot_set_disjointness(fake, tmp_path / "sd.png").stat().st_size > 1000
    assert "short1st" in plots.results_table(fake)


@pytest.mark.slow
def test_demo_shows_the_gap(tmp_path):
    """The demo's claim: at equal state, JRT-RNN and JRT-Prompt above causal Based on MQAR."""
    from jrt.synthetics.sweeps import demo

    acc = {c.label: run(c, "cpu", tmp_path, progress=False)["accuracy"] for c in demo.runs(ops_backend="naive")}
    assert acc["JRT-RNN"] > acc["Based"] + 0.03 and acc["Based + JRT-Prompt x2"] > acc["Based"] + 0.02, acc


def test_runs_by_seed_keeps_every_run(tmp_path):
    """The per-seed view must not pool: two seeds of one point stay two dots; one run per point: no plot."""
    from jrt.synthetics import plots
    mk = lambda label, state, acc: {"label": label, "state_bytes": state, "accuracy": acc}  # noqa: E731
    results = [mk("JRT-RNN", 100, 0.98), mk("JRT-RNN", 100, 0.08), mk("Based", 100, 0.07), {"error": "x", "label": "Based"}]
    groups = plots.runs_by_config(results)
    assert groups == {("Based", 100): [0.07], ("JRT-RNN", 100): [0.98, 0.08]}
    assert plots.plot_runs_by_seed(results, tmp_path / "s.png").stat().st_size > 0
    assert plots.plot_runs_by_seed([mk("Based", 100, 0.07)], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_run_stopped_by_time_says_so(tmp_path, capsys):
    """A run cut by max_seconds before max_steps records it and warns: its lr schedule never finished."""
    task = MQARTask(vocab_size=32, train=(MQARSegment(16, 2, 500),), test=(MQARSegment(16, 2, 50),))
    cfg = RunConfig("cut", task, ModelSpec("attention", d_model=16, num_heads=2, attention_layers=1),
                    train=TrainConfig(lr=1e-3, batch_size=8, max_steps=10_000, eval_every=1, max_seconds=0.0))
    r = run(cfg, "cpu", tmp_path, progress=False)
    assert r["stopped"] == "max_seconds" and r["steps"] < 10_000
    assert "lr schedule did not finish" in capsys.readouterr().err
