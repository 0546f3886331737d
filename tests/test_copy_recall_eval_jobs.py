"""scripts/copy_recall.py: eval reports a job that fails early even when later jobs succeed (the
runner waits on every job it started, not only the last few) and exports the training text when a
prepare with --probe left it out; prepare --probe adopts only a probe of the same windows, size and
data build."""
import argparse
import gzip
import json

import pytest


class _FakeJob:
    def __init__(self, cmd):
        self.out = cmd[cmd.index("--out") + 1]
        self.code = 1 if self.out.endswith("w1000_pad") else 0   # the first job started fails

    def poll(self):
        return self.code     # finished at once

    def wait(self):
        return self.code


def test_an_early_failure_is_reported(tmp_path, monkeypatch, load_script):
    script = load_script("copy_recall")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "training_text.txt.gz").write_bytes(b"")
    monkeypatch.setattr(script, "warm_copy_required_cache", lambda *a, **k: None)
    monkeypatch.setattr(script.subprocess, "Popen", _FakeJob)
    args = argparse.Namespace(work=str(tmp_path), data_root=str(tmp_path), models="jrt-small",
                              windows="1000,512,256", limit=1, batch_size=1, parallel=2)
    with pytest.raises(SystemExit, match=r"1 evaluations failed: .*jrt-small/w1000_pad$"):
        script.evaluate(args)
    monkeypatch.setattr(_FakeJob, "__init__", lambda self, cmd: setattr(self, "code", 0))
    script.evaluate(args)   # all six jobs (3 windows x pad, repeat) succeed: no error


def test_eval_exports_the_training_text_when_missing(tmp_path, monkeypatch, load_script):
    script = load_script("copy_recall")
    ran = []
    monkeypatch.setattr(script, "_run", lambda cmd, log=None: ran.append(cmd))
    monkeypatch.setattr(script, "warm_copy_required_cache", lambda *a, **k: None)
    monkeypatch.setattr(script.subprocess, "Popen", lambda cmd: type("Done", (), {"poll": lambda s: 0,
                                                                                  "wait": lambda s: 0})())
    args = argparse.Namespace(work=str(tmp_path), data_root=str(tmp_path), models="based-small", windows="256",
                              limit=1, batch_size=1, parallel=1)
    script.evaluate(args)
    assert len(ran) == 1 and ran[0][-4:] == ["jrt.train.probe", "export", "--data", str(tmp_path / "data")]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "training_text.txt.gz").write_bytes(b"")
    script.evaluate(args)
    assert len(ran) == 1       # present now: not exported again


def _work_with_manifest(tmp_path, data_hash="abc123"):
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "manifest.json").write_text(json.dumps({"hash": data_hash}))
    return tmp_path


def _probe_file(path, **fields):
    probe = dict(windows=[1000, 512, 256], tasks=["swde", "fda"], per_task=128, seed=0, corpus="c", examples=[{"x": 1}])
    probe.update(fields)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(probe, f)
    return path


def test_adopt_probe_checks_windows_size_and_data_hash(tmp_path, load_script, capsys):
    script = load_script("copy_recall")
    work = _work_with_manifest(tmp_path / "work")
    ok = _probe_file(tmp_path / "ok.json.gz", data_hash="abc123")
    script.adopt_probe(ok, work, "256,512,1000", 128)          # window order does not matter
    assert json.loads((work / "probe.json").read_text())["examples"] == [{"x": 1}]
    with pytest.raises(SystemExit, match="built from data"):
        script.adopt_probe(_probe_file(tmp_path / "other.json.gz", data_hash="zzz999"), work, "1000,512,256", 128)
    with pytest.raises(SystemExit, match="asked for"):
        script.adopt_probe(ok, work, "1000,512", 128)
    with pytest.raises(SystemExit, match="asked for"):
        script.adopt_probe(ok, work, "1000,512,256", 64)
    script.adopt_probe(_probe_file(tmp_path / "old.json.gz"), work, "1000,512,256", 128)   # no hash anywhere
    assert "no data hash recorded" in capsys.readouterr().err
    series = tmp_path / "series"                       # a series' folder: the manifest beside the probe decides
    series.mkdir()
    (series / "data_manifest.json").write_text(json.dumps({"hash": "zzz999"}))
    with pytest.raises(SystemExit, match="built from data zzz999"):
        script.adopt_probe(_probe_file(series / "probe.json.gz"), work, "1000,512,256", 128)
    (series / "data_manifest.json").write_text(json.dumps({"hash": "abc123"}))
    script.adopt_probe(_probe_file(series / "probe.json.gz"), work, "1000,512,256", 128)
    assert "no data hash" not in capsys.readouterr().err
