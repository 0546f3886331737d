"""scripts/copy_recall.py eval: a job that fails early is reported even when later jobs succeed
(the runner waits on every job it started, not only the last few)."""
import argparse

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
    monkeypatch.setattr(script, "warm_copy_required_cache", lambda *a, **k: None)
    monkeypatch.setattr(script.subprocess, "Popen", _FakeJob)
    args = argparse.Namespace(work=str(tmp_path), data_root=str(tmp_path), models="jrt-small",
                              windows="1000,512,256", limit=1, batch_size=1, parallel=2)
    with pytest.raises(SystemExit, match=r"1 evaluations failed: .*jrt-small/w1000_pad$"):
        script.evaluate(args)
    monkeypatch.setattr(_FakeJob, "__init__", lambda self, cmd: setattr(self, "code", 0))
    script.evaluate(args)   # all six jobs (3 windows x pad, repeat) succeed: no error
