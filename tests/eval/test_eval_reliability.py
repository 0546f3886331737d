"""`jrt eval` boundary: argument ranges, model path errors, --out guard, truncation warning,
copy-required reporting, and lm-eval's own CLI (subprocess) with the `jrt` model on fixtures."""
import gzip
import json
import os
import subprocess
import sys

import pytest

from jrt.eval import TASKS_DIR

REPO = TASKS_DIR.parents[3]


@pytest.mark.parametrize("flag,value,msg", [("--limit", "0", "--limit must be an integer >= 1"),
                                            ("--batch-size", "0", "--batch-size must be an integer >= 1"),
                                            ("--max-gen-toks", "-3", "--max-gen-toks must be an integer >= 1"),
                                            ("--context-length", "abc", "--context-length must be an integer"),
                                            ("--nq-size", "100", "--nq-size must be 512, 1024 or 2048")])
def test_cli_argument_ranges(flag, value, msg, capsys, fixture_data_root):
    from jrt.cli import main

    assert main(["eval", "--model", "jrt-tiny", "--data-dir", str(fixture_data_root), flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_model_path(tmp_path, capsys, fixture_data_root, gpt2_tokenizer_dir):
    from jrt.cli import main

    assert main(["eval", "--model", str(tmp_path / "nope"), "--data-dir", str(fixture_data_root)]) == 2
    err = capsys.readouterr().err
    assert "model path not found" in err and "tokenizer" not in err


def _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, **kw):
    from jrt.eval.runner import run_eval

    kw.setdefault("out", tmp_path / "out")
    return run_eval("jrt-tiny", str(gpt2_tokenizer_dir), kw.pop("tasks", "swde"), context_length=96,
                    limit=2, batch_size=4, device="cpu", data_dir=fixture_data_root, max_gen_toks=2,
                    backend="native", **kw)


def test_out_folder_guard_and_overwrite(tmp_path, gpt2_tokenizer_dir, fixture_data_root):
    _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, tasks="swde,fda")
    assert (tmp_path / "out" / "samples_jrt_fda.jsonl.gz").exists()
    with pytest.raises(ValueError, match="--overwrite"):
        _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root)
    _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, overwrite=True)
    assert not (tmp_path / "out" / "samples_jrt_fda.jsonl.gz").exists()  # stale task removed
    assert (tmp_path / "out" / "samples_jrt_swde.jsonl.gz").exists()


def test_truncation_warning_counts(tmp_path, gpt2_tokenizer_dir, fixture_data_root):
    with pytest.warns(UserWarning, match=r"2 of 2 prompts .* left-truncated to 30 tokens"):
        summary = _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, max_length=32)
    assert summary["model_info"]["n_truncated_prompts"] == 2


def test_copy_required_report(tmp_path, gpt2_tokenizer_dir, fixture_data_root):
    from jrt.tasks import build_task

    examples = build_task("swde", str(gpt2_tokenizer_dir), data_dir=fixture_data_root, context_length=96, limit=2)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("an unrelated text that mentions " + examples[0].answers[0] + " once\n")
    summary = _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, train_corpus=[corpus])
    stats = summary["stats"]["jrt_swde"]
    assert stats["all"]["n"] == 2 and stats["copy_required"]["n"] == 1
    assert len(stats["all"]["ci95"]) == 2
    assert "copy-required % [95% CI]" in (tmp_path / "out" / "table.md").read_text()
    with gzip.open(tmp_path / "out" / "samples_jrt_swde.jsonl.gz", "rt") as handle:
        rows = [json.loads(x) for x in handle]
    assert sorted(r["copy_required"] for r in rows) == [False, True]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["stats"]
    assert saved["jrt_swde"]["copy_required"]["n"] == 1
    # the share of empty answers, recounted from the saved generations
    assert saved["jrt_swde"]["empty_answers"] == sum(not r["generation"].strip() for r in rows) / len(rows)
    # the second reading (answer after a leading blank), rescored from the saved text
    from jrt.tasks import contains_score
    for r in rows:
        if r["generation"].strip():  # an answer on the first line reads the same both ways
            assert r["generation_after_blank"] == r["generation"].lstrip()
        assert r["contains_after_blank"] == contains_score(r["generation_after_blank"], r["answers"])


def test_after_blank_statistics(tmp_path, gpt2_tokenizer_dir, fixture_data_root, monkeypatch):
    """A model that puts the right answer on the next line for the example that is not
    copy-required: 0 under the paper's reading, 1/2 of all and 0 of the copy-required ones after
    the blank."""
    from jrt.eval import generation
    from jrt.tasks import build_task

    examples = build_task("swde", str(gpt2_tokenizer_dir), data_dir=fixture_data_root, context_length=96, limit=2)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("an unrelated text that mentions " + examples[0].answers[0] + " once\n")
    gold = {ex.prompt: ex.answers[0] for ex in examples[:1]}

    def next_line_answers(self, prompts, until=("\n",), max_gen_toks=48, progress=True):
        return [generation.Answer("", gold.get(p, "nothing")) for p in prompts]

    monkeypatch.setattr(generation.Generator, "generate_all", next_line_answers)
    stats = _tiny(tmp_path, gpt2_tokenizer_dir, fixture_data_root, train_corpus=[corpus])["stats"]["jrt_swde"]
    assert stats["all"]["contains"] == 0.0 and stats["empty_answers"] == 1.0
    assert stats["after_blank"]["all"]["contains"] == 0.5
    assert stats["after_blank"]["copy_required"]["contains"] == 0.0 and stats["after_blank"]["copy_required"]["n"] == 1


def test_lm_eval_cli_subprocess(tmp_path, gpt2_tokenizer_dir, fixture_data_root):
    """lm-eval's own CLI (through the jrt-lm-eval wrapper) runs the shipped tasks with model 'jrt';
    device given both as --device and in model_args is not passed twice."""
    from transformers import AutoTokenizer

    from jrt.models.loading import load_causal_lm

    model_dir = tmp_path / "model"
    tok = AutoTokenizer.from_pretrained(str(gpt2_tokenizer_dir))
    load_causal_lm("jrt-tiny", tokenizer=tok).save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    meta = json.dumps({"data_dir": str(fixture_data_root), "context_length": 96, "max_examples": 2})
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [sys.executable, "-m", "jrt.eval.lm_eval_main", "run", "--model", "jrt",
           "--model_args", f"pretrained={model_dir},device=cpu,batch_size=2", "--device", "cpu",
           "--include_path", str(TASKS_DIR), "--tasks", "jrt_swde,jrt_swde_twice", "--limit", "2",
           "--gen_kwargs", "max_gen_toks=2", "--metadata", meta, "--output_path", str(tmp_path / "res")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "jrt_swde_twice" in proc.stdout and "contains" in proc.stdout
