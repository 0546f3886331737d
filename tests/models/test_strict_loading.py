"""A JRT checkpoint loads exactly or not at all; `jrt info` with a misspelled preset."""
import pytest
import torch
from safetensors.torch import load_file, save_file

from jrt.cli import main
from jrt.models import JRTForCausalLM, preset_config
from jrt.models.loading import load_causal_lm


@pytest.fixture()
def saved(tmp_path):
    torch.manual_seed(0)
    model = JRTForCausalLM(preset_config("jrt-tiny", vocab_size=64))
    model.save_pretrained(tmp_path)
    return tmp_path


def _edit(folder, edit):
    tensors = load_file(str(folder / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def test_intact_checkpoint_loads(saved):
    model = JRTForCausalLM.from_pretrained(str(saved))
    assert model.model.embed_tokens.weight.shape == (64, 64)


def test_missing_tensor_raises(saved):
    _edit(saved, lambda t: t.pop("model.layers.1.mixer.k_enc_proj.weight"))
    with pytest.raises(ValueError, match=r"missing tensors .*model\.layers\.1\.mixer\.k_enc_proj\.weight"):
        JRTForCausalLM.from_pretrained(str(saved))
    with pytest.raises(ValueError, match="k_enc_proj"):
        load_causal_lm(str(saved))


def test_unexpected_tensor_raises(saved):
    _edit(saved, lambda t: t.update({"model.layers.0.mixer.surplus": torch.zeros(3)}))
    with pytest.raises(ValueError, match=r"unexpected tensors .*model\.layers\.0\.mixer\.surplus"):
        JRTForCausalLM.from_pretrained(str(saved))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weight_raises(saved, bad):
    def poison(t):
        t["model.norm.weight"][3] = bad

    _edit(saved, poison)
    with pytest.raises(ValueError, match=r"non-finite .*model\.norm\.weight"):
        load_causal_lm(str(saved))


def test_info_misspelled_preset_is_one_line_with_a_suggestion(capsys):
    assert main(["info", "jrt-360"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "did you mean 'jrt-360m'" in err and "based-1.3b" in err and "jrt-tiny" in err
    assert captured.out == ""
