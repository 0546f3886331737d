"""scripts/copy_recall_report.py's per-example tables on hand-made samples: the shares of empty
answers and of answers JRT-Prompt leaves unchanged are counted from the rows, and samples of the two
prompts that are not the same examples in the same order are refused rather than compared."""
import gzip
import json
from pathlib import Path

import pytest


def _write(path: Path, generations, doc_ids=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_ids = doc_ids or [f"d{i}" for i in range(len(generations))]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for doc_id, text in zip(doc_ids, generations):
            handle.write(json.dumps({"doc_id": doc_id, "generation": text}) + "\n")


def test_same_generation_and_empty_shares(tmp_path, load_script):
    cfg = tmp_path / "eval" / "m" / "w256_pad"
    _write(cfg / "samples_jrt_swde.jsonl.gz", [" a", "", " b", " c"])
    _write(cfg / "samples_jrt_swde_twice.jsonl.gz", [" a", "", " x", " c"])  # 3 of 4 unchanged
    _write(cfg / "samples_jrt_fda.jsonl.gz", [" p", "\n", " q", " r", " s"])
    _write(cfg / "samples_jrt_fda_twice.jsonl.gz", [" z", "\n", " y", " r", " w"])  # 2 of 5 unchanged
    report = load_script("copy_recall_report")
    # swde: 3 of 4 the same, 2 of the 3 with an answer ("" == "" is not counted there); fda: 2 of 5
    # the same, 1 of 4 with an answer ("\n" strips to nothing)
    assert report.same_generation(tmp_path).splitlines()[-1] == "| m | 256 | pad | 75 | 67 | 40 | 25 |"
    # empty: swde 1/4, swde_twice 1/4, fda 1/5 ("\n" strips to nothing), fda_twice 1/5
    assert report.empty_answers(tmp_path).splitlines()[-1] == "| m | 256 | pad | 25 | 25 | 20 | 20 |"


def test_empty_sample_files_give_empty_cells(tmp_path, load_script):
    cfg = tmp_path / "eval" / "m" / "w256_pad"
    for task in ("swde", "swde_twice", "fda", "fda_twice"):
        _write(cfg / f"samples_jrt_{task}.jsonl.gz", [])
    report = load_script("copy_recall_report")
    assert report.same_generation(tmp_path).splitlines()[-1] == "| m | 256 | pad |  |  |  |  |"
    assert report.empty_answers(tmp_path).splitlines()[-1] == "| m | 256 | pad |  |  |  |  |"


def test_rows_by_model_then_decreasing_window_then_fill(tmp_path, load_script):
    # made in an order that a plain sort of the paths, or of the file creation, would not give
    for cfg in ("w256_repeat", "w1000_repeat", "w256_pad", "w1000_pad"):
        _write(tmp_path / "eval" / "m" / cfg / "samples_jrt_swde.jsonl.gz", [" a"])
    rows = [line.split(" | ")[1:3] for line in load_script("copy_recall_report").empty_answers(tmp_path).splitlines()[2:]]
    assert rows == [["1000", "pad"], ["1000", "repeat"], ["256", "pad"], ["256", "repeat"]]


def test_same_generation_refuses_misaligned_samples(tmp_path, load_script):
    cfg = tmp_path / "eval" / "m" / "w512_pad"
    _write(cfg / "samples_jrt_swde.jsonl.gz", [" a", " b"], doc_ids=["d0", "d1"])
    _write(cfg / "samples_jrt_swde_twice.jsonl.gz", [" b", " a"], doc_ids=["d1", "d0"])
    with pytest.raises(SystemExit, match="not the same examples"):
        load_script("copy_recall_report").same_generation(tmp_path)


def _write_hits(path: Path, hits, copy_required=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    copy_required = copy_required or [True] * len(hits)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i, (hit, cr) in enumerate(zip(hits, copy_required)):
            handle.write(json.dumps({"doc_id": f"d{i}", "answers": [f"v{i}"], "generation": "", "contains": hit,
                                     "copy_required": cr}) + "\n")


def test_paired_difference_exact_cases(load_script):
    report = load_script("copy_recall_report")
    assert report.paired_difference({"swde": [1, 1, 1, 1]}, {"swde": [0, 0, 0, 0]}) == (100.0, 100.0, 100.0)
    same = report.paired_difference({"swde": [1, 0, 1, 0], "fda": [0, 0, 1, 1]}, {"swde": [1, 0, 1, 0], "fda": [0, 0, 1, 1]})
    assert same == (0.0, 0.0, 0.0)
    # two tasks are averaged: +50 on swde, 0 on fda -> +25; the interval holds the estimate
    d, lo, hi = report.paired_difference({"swde": [1, 1, 0, 0], "fda": [1, 0, 1, 0]},
                                         {"swde": [0, 0, 0, 0], "fda": [1, 0, 1, 0]})
    assert d == 25.0 and lo <= d <= hi and lo >= 0
    with pytest.raises(ValueError):
        report.paired_difference({"swde": [1, 0]}, {"swde": [1]})


def test_targets_table_from_samples(tmp_path, load_script):
    """Three runs answering the same 4 copy-required (+1 not) examples per task at one window."""
    cr = [True, True, True, True, False]
    hits = {"hf-llama_small": ([1, 1, 1, 0, 1], [1, 0, 0, 0, 0]),   # 75 / 25 %
            "based-small": ([0, 0, 0, 0, 1], [0, 0, 0, 0, 1]),      # 0 / 0 (the hit is not copy-required)
            "jrt-small": ([1, 1, 0, 0, 0], [1, 0, 0, 0, 0])}        # 50 / 25 %
    for model, (swde, fda) in hits.items():
        cfg = tmp_path / "eval" / model / "w256_pad"
        for task, h in (("swde", swde), ("fda", fda)):
            _write_hits(cfg / f"samples_jrt_{task}.jsonl.gz", h, cr)
            _write_hits(cfg / f"samples_jrt_{task}_twice.jsonl.gz", h, cr)   # twice changes nothing
    table = load_script("copy_recall_report").targets(tmp_path)
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line.split("|")[3].strip()
            for line in table.splitlines()[2:]}
    assert rows[("copy-required SWDE / FDA %", "hf-llama_small (pad)")] == "75.0 / 25.0"
    assert rows[("copy-required hits SWDE / FDA (95% lower bound, %)", "based-small (pad)")] == \
        "0/4 (>= 0.0) / 0/4 (>= 0.0)"
    assert rows[("JRT-Prompt gain, copy-required average [95% CI]", "jrt-small (pad)")] == "+0.0 [+0.0, +0.0]"
    # jrt 37.5 - based 0 = +37.5; jrt 37.5 - llama 50 = -12.5
    assert rows[("minus based-small (pad), default prompt", "jrt-small (pad)")].startswith("+37.5 [")
    assert rows[("minus hf-llama_small (pad), default prompt", "jrt-small (pad)")].startswith("-12.5 [")

    # with scripts/copy_recall_distance.py's counts beside the samples: the hits beyond 128 tokens
    (tmp_path / "answer_distance.json").write_text(json.dumps({"fill": "pad", "hits_n": {"jrt-small": {
        "swde": {"256": {"<= 128": [2, 2], "129-256": [0, 1], "> 256": [0, 1]}},
        "fda": {"256": {"<= 128": [1, 3], "129-256": [0, 1]}}}}}))
    table = load_script("copy_recall_report").targets(tmp_path)
    far = [line for line in table.splitlines() if "> 128 tokens" in line]
    assert len(far) == 1 and "| jrt-small (pad) | 0/2 / 0/1 |" in far[0]

    _write_hits(tmp_path / "eval" / "based-small" / "w256_pad" / "samples_jrt_fda.jsonl.gz", [0, 0, 0, 0, 0],
                [True, True, True, False, True])   # a different set of copy-required examples
    with pytest.raises(SystemExit, match="not the copy-required examples"):
        load_script("copy_recall_report").targets(tmp_path)
