"""A run folder is used by one run at a time, resumed only by the same run, and its log has no
duplicate steps; bad settings are refused before anything is written (jrt.train.run_dir, TrainConfig)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jrt.train.run_dir import RunDirError, RunDirLock, check_resume, copy_tokenizer, has_run, truncate_log
from jrt.train.trainer import TrainConfig


def test_second_process_cannot_take_a_held_run_folder(tmp_path):
    lock = RunDirLock(tmp_path / "run")
    lock.acquire()
    try:
        code = ("import sys; from jrt.train.run_dir import RunDirLock, RunDirError\n"
                f"try:\n    RunDirLock({str(tmp_path / 'run')!r}).acquire()\n"
                "except RunDirError as e:\n    print(e); sys.exit(3)\n")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode == 3, other.stderr
        assert "in use by process" in other.stdout and "choose another --out" in other.stdout
    finally:
        lock.release()
    # released (or the holder died): the folder can be taken again
    again = RunDirLock(tmp_path / "run")
    again.acquire()
    again.release()


def test_resume_refuses_another_runs_checkpoint():
    saved = {"model": "jrt-small", "seed": 1111, "data_manifest_hash": "abc", "lr": 1e-3, "recall_rows": 0.5}
    check_resume(saved, dict(saved), "ckpt")                       # the same run continues
    for key, other in (("seed", 7), ("data_manifest_hash", "def"), ("model", "based-small"), ("recall_rows", 0.0)):
        with pytest.raises(RunDirError, match=key):
            check_resume(saved, {**saved, key: other}, "ckpt")


def test_log_keeps_no_record_after_the_resumed_step(tmp_path):
    log = tmp_path / "log.jsonl"
    records = [{"kind": "train", "step": s} for s in (10, 20, 30, 40)] + [{"kind": "eval", "step": 40}]
    log.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"kind": "train", "st')  # a cut line
    assert truncate_log(log, 20) == 4       # steps 30, 40, the eval at 40 and the cut line
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [10, 20]
    assert truncate_log(log, 20) == 0 and truncate_log(tmp_path / "missing.jsonl", 5) == 0


def test_tokenizer_travels_with_the_final_model(tmp_path):
    data, dst = tmp_path / "data", tmp_path / "final_model"
    (data / "tokenizer").mkdir(parents=True)
    dst.mkdir()
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        (data / "tokenizer" / name).write_text(name)
    assert copy_tokenizer(data, {}, dst) == str(data / "tokenizer")
    assert sorted(p.name for p in dst.iterdir()) == ["merges.txt", "tokenizer_config.json", "vocab.json"]
    assert copy_tokenizer(tmp_path / "nothing", {}, dst) is None
    assert not has_run(tmp_path / "fresh")


@pytest.mark.parametrize("field,value,message", [
    ("micro_batch_size", 0, "--micro-batch-size must be >= 1"),
    ("micro_batch_size", -2, "--micro-batch-size must be >= 1"),
    ("grad_accum", 0, "--grad-accum must be >= 1"),
    ("seq_len", 0, "--seq-len must be >= 2"),
    ("lr", 0.0, "--lr must be a positive number"),
    ("lr", -1e-3, "--lr must be a positive number"),
    ("lr", float("nan"), "--lr must be a positive number"),
    ("max_steps", 0, "--max-steps must be >= 1"),
    ("max_steps", -5, "--max-steps must be >= 1"),
    ("max_tokens", -100, "--max-tokens must be >= 1"),
    ("recall_rows", 1.5, "--recall-rows must be in"),
    ("objective", "mlm", "--objective must be"),
])
def test_bad_settings_are_one_clear_error(tmp_path, field, value, message):
    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), **{field: value})
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cfg.validate()
    TrainConfig(data=str(tmp_path), out=str(tmp_path / "run")).validate()   # the defaults are valid
