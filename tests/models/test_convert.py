"""`jrt convert`: official checkpoints (built here in the official layout, random weights) against
an independent float64 forward of the official math (official_reference.py)."""
import json

import pytest
import torch
from official_reference import (  # noqa: E402
    official_config,
    random_state_dict,
    reference_greedy,
    reference_logits,
    save_official,
)

from jrt.cli import main  # noqa: E402
from jrt.models import ConversionError, JRTForCausalLM, convert_official  # noqa: E402

JRT_KINDS = ["conv", "pla", "swa", "conv", "pla"]
BASED_KINDS = ["conv", "based", "swa", "conv"]
ENC = 8  # enc_length of the tiny checkpoints


def rel_err(ours, ref):
    return ((ours.double() - ref).norm() / ref.norm()).item()


@pytest.fixture(scope="module", params=["jrt", "based"])
def official(request, tmp_path_factory):
    """(folder, config dict, state dict) of a tiny official checkpoint."""
    cfg = official_config(JRT_KINDS if request.param == "jrt" else BASED_KINDS, enc_length=ENC)
    sd = random_state_dict(cfg, seed=1)
    folder = save_official(tmp_path_factory.mktemp(request.param), cfg, sd)
    return folder, cfg, sd


@pytest.fixture(scope="module")
def converted(official, tmp_path_factory):
    folder, _, _ = official
    return convert_official(folder, tmp_path_factory.mktemp("dst"))


@pytest.mark.parametrize("seq_len", [5, ENC, 21])
def test_logits_equal_the_official_math(official, converted, seq_len):
    _, cfg, sd = official
    ids = torch.randint(0, cfg["vocab_size"], (2, seq_len))
    with torch.no_grad():
        ours = converted(ids).logits
    assert ours.dtype == torch.float32
    assert rel_err(ours, reference_logits(sd, cfg, ids)) < 1e-4


@pytest.mark.parametrize("seq_len", [5, 13])
def test_greedy_tokens_equal_the_official_decode(official, converted, seq_len):
    _, cfg, sd = official
    ids = torch.randint(0, cfg["vocab_size"], (2, seq_len))
    ours = converted.generate(ids, max_new_tokens=6, do_sample=False)[:, seq_len:]
    assert torch.equal(ours, reference_greedy(sd, cfg, ids, 6))


@pytest.mark.parametrize("seq_len", [5, 13])
def test_decode_path_equals_parallel_path(converted, seq_len):
    ids = torch.randint(0, 50, (2, seq_len + 4))
    prompt_prefix = min(ENC, seq_len)  # decoding keeps the prompt's prefix
    with torch.no_grad():
        parallel = converted(ids, enc_length=prompt_prefix).logits
        out = converted(ids[:, :seq_len], use_cache=True)
        steps = [out.logits[:, -1]]
        cache = out.past_key_values
        for t in range(seq_len, ids.shape[1]):
            out = converted(ids[:, t:t + 1], past_key_values=cache, use_cache=True)
            steps.append(out.logits[:, -1])
    decoded = torch.stack(steps[:-1], 1)
    assert rel_err(decoded, parallel[:, seq_len - 1:-1].double()) < 1e-5


def test_official_padding_semantics_give_the_official_logits(official, tmp_path):
    folder, cfg, sd = official
    model = convert_official(folder, tmp_path / "official", padding_semantics="official")
    assert json.loads((tmp_path / "official" / "config.json").read_text())["padding_semantics"] == "official"
    ids = torch.randint(0, cfg["vocab_size"], (3, ENC))
    mask = torch.ones_like(ids)
    for row, pads in ((0, 3), (1, 1)):  # left padding with a pad token, as the official evaluation does
        ids[row, :pads] = 7
        mask[row, :pads] = 0
    with torch.no_grad():
        ours = model(ids, attention_mask=mask).logits
        masked = convert_official(folder)(ids, attention_mask=mask).logits
    ref = reference_logits(sd, cfg, ids, mask)
    assert rel_err(ours, ref) < 1e-4
    # the default semantics reads a padded row as it would be alone: not the official numbers
    assert rel_err(masked[0], ref[0]) > 1e-3


def test_official_padding_semantics_greedy_tokens(official, tmp_path):
    folder, cfg, sd = official
    model = convert_official(folder, padding_semantics="official")
    ids = torch.randint(0, cfg["vocab_size"], (2, 6))
    mask = torch.ones_like(ids)
    ids[0, :2], mask[0, :2] = 7, 0
    ours = model.generate(ids, attention_mask=mask, max_new_tokens=5, do_sample=False)[:, 6:]
    assert torch.equal(ours, reference_greedy(sd, cfg, ids, 5, mask))


def test_cli_convert_end_to_end(official, tmp_path, capsys):
    folder, cfg, sd = official
    dst = tmp_path / "hf"
    assert main(["convert", str(folder), str(dst)]) == 0
    assert "converted" in capsys.readouterr().out
    assert (dst / "model.safetensors").is_file()
    assert json.loads((dst / "config.json").read_text())["model_type"] == "jrt"
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(dst))
    assert isinstance(model, JRTForCausalLM)
    ids = torch.randint(0, cfg["vocab_size"], (1, 11))
    with torch.no_grad():
        assert rel_err(model(ids).logits, reference_logits(sd, cfg, ids)) < 1e-4


def test_cli_copies_the_tokenizer(official, tmp_path, gpt2_tokenizer_dir):
    folder, _, _ = official
    assert main(["convert", str(folder), str(tmp_path / "hf"), "--tokenizer", str(gpt2_tokenizer_dir)]) == 0
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(tmp_path / "hf")).eos_token_id == 50256


def test_cli_reports_a_conversion_error_in_one_line(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "nowhere" / "x"), str(tmp_path / "dst")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("jrt convert:") and "\n" not in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# errors


def _broken(tmp_path, edit_sd=None, edit_cfg=None):
    cfg = official_config(JRT_KINDS, enc_length=ENC)
    sd = random_state_dict(cfg)
    if edit_sd:
        edit_sd(sd)
    if edit_cfg:
        edit_cfg(cfg)
    return save_official(tmp_path / "src", cfg, sd)


def test_unknown_key_is_named(tmp_path):
    src = _broken(tmp_path, edit_sd=lambda sd: sd.update({"transformer.layers.0.mixer.extra.weight": torch.ones(2)}))
    with pytest.raises(ConversionError, match=r"unknown key 'transformer\.layers\.0\.mixer\.extra\.weight'"):
        convert_official(src)


def test_missing_key_is_named(tmp_path):
    src = _broken(tmp_path, edit_sd=lambda sd: sd.pop("transformer.layers.1.mixer.proj_k_enc.weight"))
    with pytest.raises(ConversionError, match=r"missing key 'transformer\.layers\.1\.mixer\.proj_k_enc\.weight'"):
        convert_official(src)


def test_shape_mismatch_is_named(tmp_path):
    src = _broken(tmp_path, edit_sd=lambda sd: sd.update({"transformer.layers.2.mixer.Wqkv.weight": torch.ones(5, 32)}))
    with pytest.raises(ConversionError, match=r"shape mismatch for 'transformer\.layers\.2\.mixer\.Wqkv\.weight'"):
        convert_official(src)


def test_unsupported_mixer_is_named(tmp_path):
    def hyena(cfg):
        cfg["mixer"]["_target_"] = "based.models.mixers.hyena.Hyena"

    with pytest.raises(ConversionError, match=r"unsupported mixer _target_ 'based\.models\.mixers\.hyena\.Hyena'"):
        convert_official(_broken(tmp_path, edit_cfg=hyena))


def test_layer_types_come_from_the_config(tmp_path):
    def move(cfg):  # PLA at layer 4 only; layer 1 becomes a convolution
        cfg["alt_mixer_layers"] = [4]

    def drop(sd):
        for name in ("proj_q", "proj_k", "proj_k_enc", "proj_v", "proj_v_enc", "out_proj"):
            sd.pop(f"transformer.layers.1.mixer.{name}.weight")

    with pytest.raises(ConversionError, match=r"missing key 'transformer\.layers\.1\.mixer\.conv\.conv\.weight'"):
        convert_official(_broken(tmp_path, edit_sd=drop, edit_cfg=move))


def test_unsafe_pickle_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this pickle runs code",))

    src = _broken(tmp_path)
    torch.save({"transformer.ln_f.weight": Payload()}, src / "pytorch_model.bin")
    with pytest.raises(ConversionError, match="weights_only"):
        convert_official(src)


def test_hub_fetch_failure_is_one_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'huggingface.co'\nmore detail")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ConversionError, match=r"could not fetch 'hazyresearch/JRT-360M-30B'") as info:
        convert_official("hazyresearch/JRT-360M-30B", tmp_path / "dst")
    assert "\n" not in str(info.value)
    assert info.value.__cause__ is None


def test_hub_offline_mode_fails_at_once(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConversionError, match="offline"):
        convert_official("hazyresearch/JRT-360M-30B")


def test_legacy_names_and_saved_rotary_buffers_convert(tmp_path):
    """BaseConvWithSiLU4 with `conv1` keys (renamed as the official loader renames them) and a saved
    rotary inv_freq (checked against the config, then dropped)."""
    cfg = official_config(JRT_KINDS, enc_length=ENC)
    sd = random_state_dict(cfg, seed=3)
    legacy_cfg = json.loads(json.dumps(cfg))
    legacy_cfg["mixer"]["_target_"] = "src.models.mixers.base_conv.BaseConvWithSiLU4"
    legacy = {k.replace("mixer.conv.conv.", "mixer.conv1.conv."): v for k, v in sd.items()}
    head_dim = cfg["n_embd"] // cfg["n_head"]
    legacy["transformer.layers.2.mixer.rotary_emb.inv_freq"] = 1.0 / 10000.0 ** (
        torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    model = convert_official(save_official(tmp_path / "legacy", legacy_cfg, legacy))
    ids = torch.randint(0, cfg["vocab_size"], (2, 11))
    with torch.no_grad():
        assert rel_err(model(ids).logits, reference_logits(sd, cfg, ids)) < 1e-4
    legacy["transformer.layers.2.mixer.rotary_emb.inv_freq"] *= 2
    with pytest.raises(ConversionError, match="inv_freq"):
        convert_official(save_official(tmp_path / "bad", legacy_cfg, legacy))


@pytest.mark.parametrize("name,n_embd,n_layer,alt,alt2", [
    ("jrt-360m", 1024, 26, [1, 6, 11, 16, 21], [2, 7, 12, 17, 22]),
    ("jrt-1.3b", 1792, 36, [1, 6, 11, 16, 21, 27, 33], [2, 7, 12, 17, 22, 28, 34]),
])
def test_paper_configs_map_to_the_paper_layouts(name, n_embd, n_layer, alt, alt2):
    """The official 360M / 1.3B JRT configs (train/configs/experiment/baselines) give our layer
    pattern, the 1024-token prefix and a window of 128 previous tokens plus the token itself."""
    from jrt.models import PRESETS
    from jrt.models.convert import official_config as to_config

    kinds = ["conv"] * n_layer
    cfg = official_config(kinds, n_embd=n_embd, n_head=16, feature_dim=16, enc_length=1024, window_size=256,
                          vocab_size=50257, n_inner=2 * n_embd)
    cfg.update(alt_mixer_layers=alt, alt_mixer_2_layers=alt2)
    cfg["alt_mixer"] = {"_target_": "based.models.mixers.prefix_linear_attention.PrefixLinearAttention",
                        "l_max": 2048, "feature_dim": 16, "feature_name": "taylor_exp", "num_heads": 16,
                        "num_key_value_heads": 16, "enc_length": 1024, "dec_length": 1024,
                        "implementation": "fla_parallel", "use_mask": True}
    fc1 = {"transformer.layers.0.mlp.fc1.weight": torch.empty(4 * n_embd, n_embd, device="meta")}
    config = to_config(cfg, fc1)
    assert config.mixer_types == PRESETS[name]["mixer_types"]
    assert (config.vocab_size, config.hidden_size, config.intermediate_size) == (50264, n_embd, 2 * n_embd)
    assert (config.enc_length, config.window_size, config.rotary_dim) == (1024, 129, n_embd // 16)
    preset = PRESETS[name]
    assert (preset["hidden_size"], preset["num_heads"], preset["feature_dim"], preset["enc_length"],
            preset["window_size"]) == (config.hidden_size, config.num_heads, config.feature_dim,
                                       config.enc_length, config.window_size)
    assert (config.conv_expand, config.conv_bias, config.conv_proj_bias) == (2, False, True)
    assert (config.pad_token_id, config.mask_token_id, config.eos_token_id) == (220, 50263, 50256)


def test_official_folder_and_hub_id_load_without_a_convert_step(official, monkeypatch):
    """`jrt eval --model <official folder or hub id>` needs no `jrt convert` first: load_causal_lm
    converts in memory (the official math's logits), and a hub id goes through the hub fetch (here
    a stand-in for snapshot_download that returns the official folder; offline: one clear error)."""
    import huggingface_hub
    from huggingface_hub import constants

    from jrt.models.loading import load_causal_lm

    folder, cfg, sd = official
    ids = torch.randint(0, cfg["vocab_size"], (2, 13))
    with torch.no_grad():
        assert rel_err(load_causal_lm(str(folder)).float()(ids).logits, reference_logits(sd, cfg, ids)) < 1e-4
    seen = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, **kw: seen.append(repo_id) or str(folder))
    with torch.no_grad():
        hub = load_causal_lm("hazyresearch/JRT-360M-30B").float()(ids).logits
    assert seen == ["hazyresearch/JRT-360M-30B"] and rel_err(hub, reference_logits(sd, cfg, ids)) < 1e-4
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match="offline"):
        load_causal_lm("hazyresearch/JRT-360M-30B")


def test_eval_runs_an_official_folder_directly(tmp_path, gpt2_tokenizer_dir, fixture_data_root):
    """`jrt eval --model <official folder>` end to end: the paper's GPT-2 vocabulary, tiny widths."""
    from jrt.eval.runner import run_eval

    cfg = official_config(JRT_KINDS, enc_length=ENC, vocab_size=50257)
    folder = save_official(tmp_path / "official", cfg, random_state_dict(cfg, seed=3))
    summary = run_eval(str(folder), str(gpt2_tokenizer_dir), "swde", context_length=96, limit=2,
                       batch_size=2, data_dir=fixture_data_root, backend="native", out=tmp_path / "out",
                       max_gen_toks=4)
    assert summary["n"]["jrt_swde"] == 2 and summary["model_info"]
