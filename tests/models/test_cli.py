import re

import pytest

from jrt.cli import main


@pytest.mark.parametrize("preset,target", [("jrt-360m", 360e6), ("jrt-1.3b", 1.3e9)])
def test_info_prints_paper_sizes_and_state_vs_kv_cache(preset, target, capsys):
    assert main(["info", preset]) == 0
    out = capsys.readouterr().out
    params = float(re.search(r"([\d.]+)M parameters", out).group(1)) * 1e6
    assert abs(params - target) / target < 0.10
    assert "pla" in out and "swa" in out and "conv" in out and "total" in out
    assert "32768 tokens" in out and "2048 tokens" in out


def test_generate_streams_tokens(gpt2_tokenizer_dir, capsys):
    assert main(["generate", "--model", "jrt-tiny", "--prompt", "Hello world", "--tokenizer",
                 str(gpt2_tokenizer_dir), "--max-new-tokens", "4", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip() != ""


def test_generate_rejects_missing_tokenizer(tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        main(["generate", "--model", "jrt-tiny", "--prompt", "x", "--tokenizer", str(tmp_path / "nope")])


def test_generate_rejects_a_model_that_is_neither_folder_nor_preset(gpt2_tokenizer_dir, tmp_path):
    with pytest.raises(SystemExit, match="neither a model folder"):
        main(["generate", "--model", str(tmp_path / "missing"), "--prompt", "x",
              "--tokenizer", str(gpt2_tokenizer_dir), "--device", "cpu"])
