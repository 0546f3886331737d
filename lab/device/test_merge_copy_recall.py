"""lab/device/merge_copy_recall.py on a hand-made stretch archive: a run of the series is merged with
its job log stripped of progress lines; a run on other data, a different probe or a model the series
holds already is refused and nothing is copied.  Run with: pytest lab/device"""
import gzip
import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _module():
    spec = importlib.util.spec_from_file_location("merge_copy_recall", HERE / "merge_copy_recall.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _probe(examples) -> bytes:
    return gzip.compress(json.dumps({"examples": examples}).encode())


def _series(tmp_path) -> Path:
    s = tmp_path / "series"
    (s / "runs" / "old").mkdir(parents=True)
    (s / "data_manifest.json").write_text(json.dumps({"hash": "abc"}))
    (s / "probe.json.gz").write_bytes(_probe([{"value": "x"}]))
    return s


def _tgz(tmp_path, model="new", data_hash="abc", probe=({"value": "x"},)) -> Path:
    files = {f"out/runs/{model}/run_config.json": json.dumps({"data_manifest_hash": data_hash}).encode(),
             f"out/runs/{model}/summary.json": b"{}",
             f"out/eval/{model}/w256_pad/results.json": b"{}",
             "out/probe.json.gz": _probe(list(probe)),
             "out/env.txt": b"H200\n",
             "job.log": b"prepare\nrecall:  1%|  | 3/9 [00:01<00:02, 3.1tok/s]\rrecall: 100%| 9/9 [00:03, 3.0tok/s]\n"
                        b"tokenize: 0doc [00:00, ?doc/s]\ntrain done: 1191 s\n"}
    path = tmp_path / f"{model}-{data_hash}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_merges_a_run_of_the_series(tmp_path):
    series = _series(tmp_path)
    assert _module().merge(_tgz(tmp_path), series) == ["new"]
    assert (series / "eval" / "new" / "w256_pad" / "results.json").is_file()
    assert (series / "runs" / "new" / "env.txt").read_text() == "H200\n"
    assert (series / "runs" / "new" / "job.log").read_text() == "prepare\ntrain done: 1191 s\n"


@pytest.mark.parametrize("case", ["other_data", "other_probe", "already_there"])
def test_refuses_what_does_not_belong(tmp_path, case):
    m = _module()
    series = _series(tmp_path)
    tgz = {"other_data": lambda: _tgz(tmp_path, data_hash="zzz"),
           "other_probe": lambda: _tgz(tmp_path, probe=({"value": "y"},)),
           "already_there": lambda: _tgz(tmp_path, model="old")}[case]()
    with pytest.raises(m.MergeError):
        m.merge(tgz, series)
    assert sorted(p.name for p in (series / "runs").iterdir()) == ["old"] and not (series / "eval").exists()
