"""scripts/copy_recall_report.py's per-example tables on hand-made samples: the shares of empty
answers and of answers JRT-Prompt leaves unchanged are counted from the rows, and samples of the two
prompts that are not the same examples in the same order are refused rather than compared."""
import gzip
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("copy_recall_report", REPO / "scripts" / "copy_recall_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, generations, doc_ids=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_ids = doc_ids or [f"d{i}" for i in range(len(generations))]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for doc_id, text in zip(doc_ids, generations):
            handle.write(json.dumps({"doc_id": doc_id, "generation": text}) + "\n")


def test_same_generation_and_empty_shares(tmp_path):
    cfg = tmp_path / "eval" / "m" / "w256_pad"
    _write(cfg / "samples_jrt_swde.jsonl.gz", [" a", "", " b", " c"])
    _write(cfg / "samples_jrt_swde_twice.jsonl.gz", [" a", "", " x", " c"])  # 3 of 4 unchanged
    _write(cfg / "samples_jrt_fda.jsonl.gz", [" p", "\n", " q", " r", " s"])
    _write(cfg / "samples_jrt_fda_twice.jsonl.gz", [" z", "\n", " y", " r", " w"])  # 2 of 5 unchanged
    report = _script()
    assert report.same_generation(tmp_path).splitlines()[-1] == "| m | 256 | pad | 75 | 40 |"
    # empty: swde 1/4, swde_twice 1/4, fda 1/5 ("\n" strips to nothing), fda_twice 1/5
    assert report.empty_answers(tmp_path).splitlines()[-1] == "| m | 256 | pad | 25 | 25 | 20 | 20 |"


def test_same_generation_refuses_misaligned_samples(tmp_path):
    cfg = tmp_path / "eval" / "m" / "w512_pad"
    _write(cfg / "samples_jrt_swde.jsonl.gz", [" a", " b"], doc_ids=["d0", "d1"])
    _write(cfg / "samples_jrt_swde_twice.jsonl.gz", [" b", " a"], doc_ids=["d1", "d0"])
    with pytest.raises(SystemExit, match="not the same examples"):
        _script().same_generation(tmp_path)
