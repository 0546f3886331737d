"""The evaluation folder carried to the GPU machine (jrt.train.gpu_bench.eval_root)."""
import gzip
import json

import pytest

from jrt.train.gpu_bench import eval_root


@pytest.mark.full_data
def test_eval_root_holds_only_heldout_docs_and_an_equivalent_tokenizer(full_data_dir, tmp_path):
    data_dir = full_data_dir
    from transformers import AutoTokenizer

    dst = tmp_path / "eval_root"
    eval_root(data_dir, dst, qa_rows=5)
    for fam, docs in (("swde", "swde_book_docs"), ("fda", "fda_docs")):
        ids = set((data_dir / fam / "eval_doc_ids.txt").read_text().split())
        with gzip.open(dst / fam / f"{docs}.jsonl.gz", "rt", encoding="utf-8") as f:
            kept = {json.loads(line)["doc_id"] for line in f}
        assert kept and kept <= ids
    with gzip.open(dst / "squad" / "squad_v2.0_dev.jsonl.gz", "rt", encoding="utf-8") as f:
        assert len(f.read().splitlines()) == 5
    slim = AutoTokenizer.from_pretrained(str(dst / "tokenizers" / "gpt2"))
    full = AutoTokenizer.from_pretrained(str(data_dir / "tokenizers" / "gpt2"))
    text = "Information about Phone. Tel: (555) 010-2233\n\nÄpfel — naïve café. Phone:"
    assert slim(text)["input_ids"] == full(text)["input_ids"]
    assert slim.eos_token_id == full.eos_token_id and len(slim) == len(full)
    assert not (dst / "tokenizers" / "gpt2" / "vocab.json").exists()


def test_collect_train_tells_failed_runs_from_runs_never_started(tmp_path):
    from jrt.train.gpu_bench import collect_train

    runs = tmp_path / "runs"
    (runs / "hf-gla_small").mkdir(parents=True)  # started, no summary.json: it died
    (runs / "hf-gla_small" / "log.jsonl").write_text(json.dumps({"kind": "train", "step": 20}) + "\n")
    collect_train(runs, tmp_path, ["hf-gla:small", "jrt-small"])
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["hf-gla:small"] == {"failed": True} and res["jrt-small"] == {"not_run": True}
    table = (tmp_path / "results.md").read_text()
    assert "| hf-gla:small | failed |" in table and "| jrt-small | not run |" in table
    logs = [json.loads(line) for line in (tmp_path / "train_logs.jsonl").read_text().splitlines()]
    assert logs == [{"run": "hf-gla:small", "kind": "train", "step": 20}]
