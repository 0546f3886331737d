"""Official JRT-RNN / Based checkpoints -> a JRTForCausalLM folder (`jrt convert SRC DST`).

The official code (HazyResearch's prefix-linear-attention training stack, GPTLMHeadModel) saves a
folder with `pytorch_model.bin` and a `config.json`: a GPT2Config dump (n_embd, n_layer, n_head,
layer_norm_epsilon, vocab_size with pad_vocab_size_multiple, rotary_emb_fraction, ...) plus the
hydra dicts `mixer` / `alt_mixer` / `alt_mixer_2` with their `_target_` classes and the layer
lists `alt_mixer_layers` / `alt_mixer_2_layers`. Layer kinds are read from that config (never
assumed): BaseConv -> "conv", PrefixLinearAttention -> "pla", LinearAttention -> "based",
SlidingAttention -> "swa"; anything else, and any option whose math our layers do not have, is a
ConversionError. Every official tensor is mapped by name (a leading `model.` stripped, `*metrics*`
counters dropped); an unknown key, a missing key or a wrong shape is a ConversionError naming it.

Mapping facts (from the official modules): SwiGLU fc1 rows are [value; gate] and the block
computes fc2(value * silu(gate)); BaseConv splits in_proj into [conv input; gate], has a causal
depthwise filter without bias (conv.conv.weight) and biased projections; the sliding window of
flash-attn `window_size=(w // 2, 0)` sees w // 2 previous tokens plus itself (our window_size =
w // 2 + 1); Wqkv rows are [q; k; v], heads-major; rotary is flash-attn's non-interleaved one on
the first rotary_emb_fraction * head_dim dims; the Taylor feature map and eps 1e-12 are ours.
The official models use the GPT-2 tokenizer (copy it in with `tokenizer=`).
"""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import torch

from .configuration_jrt import JRTConfig
from .modeling_jrt import JRTForCausalLM

WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
                   "added_tokens.json")
_KIND_BY_CLASS = {"BaseConv": "conv", "BaseConvWithSiLU4": "conv", "PrefixLinearAttention": "pla",
                  "LinearAttention": "based", "SlidingAttention": "swa", "SlidingsMHA": "swa"}


class ConversionError(ValueError):
    """An official checkpoint that cannot be converted exactly; the message names the cause."""


def convert_official(src: str | Path, dst: str | Path | None = None, padding_semantics: str = "masked",
                     tokenizer: str | Path | None = None) -> JRTForCausalLM:
    """Convert an official checkpoint (a folder, or a hub id fetched with huggingface_hub) into a
    JRTForCausalLM; with `dst`, save it there (safetensors + config.json, loadable with
    AutoModelForCausalLM once jrt.models is imported) and copy the tokenizer files of `tokenizer`.

    padding_semantics: "masked" (pads change nothing) or "official" (left padding read as the
    official evaluation reads it; see JRTConfig).
    """
    folder = resolve_source(src)
    try:
        official = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{folder}: no readable config.json ({exc})") from None
    state = load_official_state_dict(folder)
    config = official_config(official, state, padding_semantics)
    state = drop_derived_buffers(state, config, official)
    with torch.device("meta"):
        model = JRTForCausalLM(config)
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    converted = map_state_dict(state, config, expected)
    model.load_state_dict(converted, strict=True, assign=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.eval()
    if dst is not None:
        dst = Path(dst).expanduser()
        model.save_pretrained(dst, safe_serialization=True)
        if tokenizer is not None:
            copy_tokenizer(Path(tokenizer).expanduser(), dst)
    return model


HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def is_hub_id(name: str | Path) -> bool:
    """`owner/name` that is no local path: a checkpoint to fetch from the Hugging Face Hub."""
    return bool(HUB_ID.fullmatch(str(name))) and not Path(str(name)).expanduser().exists()


def is_official_folder(path: str | Path) -> bool:
    """A folder in the official layout: a config.json with the hydra mixer dicts and no jrt model_type."""
    try:
        cfg = json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return cfg.get("model_type") != "jrt" and ("alt_mixer" in cfg or isinstance(cfg.get("mixer"), dict))


def default_tokenizer(model: str | Path) -> str:
    """Where a model's tokenizer comes from when none is given: the model folder, except for the
    official checkpoints (hub ids, official folders without tokenizer files), which use GPT-2's."""
    folder = Path(str(model)).expanduser()
    if is_hub_id(model) or (is_official_folder(folder) and not any((folder / f).is_file() for f in TOKENIZER_FILES)):
        return "gpt2"
    return str(model)


def resolve_source(src: str | Path) -> Path:
    """A local folder as it is; an `owner/name` that is no folder is fetched from the hub."""
    path = Path(src).expanduser()
    if path.is_dir():
        return path
    text = str(src)
    if HUB_ID.fullmatch(text) and not path.exists():
        return _download(text)
    raise ConversionError(f"{text!r} is not a checkpoint folder (config.json + pytorch_model.bin) or a hub id")


def _download(repo_id: str) -> Path:
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError:
        raise ConversionError(f"{repo_id!r} is not a local folder and huggingface_hub is not installed") from None
    if constants.HF_HUB_OFFLINE:
        raise ConversionError(f"{repo_id!r} is not a local folder and the Hugging Face Hub is offline "
                              "(HF_HUB_OFFLINE); download the checkpoint folder and pass its path") from None
    try:
        folder = snapshot_download(repo_id, allow_patterns=["config.json", *WEIGHT_FILES], etag_timeout=10)
    except Exception as exc:  # noqa: BLE001  (no network, unknown repo, ...: one line, no traceback)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConversionError(f"could not fetch {repo_id!r} from the Hugging Face Hub "
                              f"({type(exc).__name__}: {reason[:200]})") from None
    return Path(folder)


def load_official_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors (torch.load with weights_only=True: a pickle carrying code is refused),
    with a leading `model.` stripped and `*metrics*` counters dropped."""
    path = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if path is None:
        raise ConversionError(f"{folder}: no {' or '.join(WEIGHT_FILES)}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        raw = load_file(str(path), device="cpu")
    else:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001  (unpickling refused or corrupt file)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConversionError(f"{path}: refused to load (weights_only=True allows plain tensors only): "
                                  f"{first[:300]}") from None
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]  # a Lightning checkpoint
    if not isinstance(raw, dict):
        raise ConversionError(f"{path}: holds a {type(raw).__name__}, not a state dict")
    state = {}
    for key, value in raw.items():
        if "metrics" in key:
            continue
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        key = re.sub(r"^model\.", "", key).replace("conv1", "conv")  # the official loader's renames
        state[key] = value
    return state


def _mixer_dicts(official: dict) -> list[tuple[str, dict | None]]:
    """(tag, hydra dict) of each layer, chosen as the official create_mixer_cls chooses."""
    n_layer = official.get("n_layer", official.get("num_hidden_layers"))
    if not isinstance(n_layer, int) or n_layer < 1:
        raise ConversionError(f"config.json: n_layer must be a positive int, got {n_layer!r}")
    alt, alt2 = official.get("alt_mixer_layers") or [], official.get("alt_mixer_2_layers") or []
    out = []
    for i in range(n_layer):
        tag = "alt_mixer_2" if i in alt2 else "alt_mixer" if i in alt else "mixer"
        out.append((tag, official.get(tag)))
    return out


def _kind(tag: str, value: dict | None, layer: int) -> str:
    if not isinstance(value, dict) or "_target_" not in value:
        raise ConversionError(f"layer {layer}: config.json has no {tag} dict with a _target_ (the official "
                              "code would build softmax attention (MHA) there, which is not supported)")
    target = str(value["_target_"])
    kind = _KIND_BY_CLASS.get(target.rsplit(".", 1)[-1])
    if kind is None:
        raise ConversionError(f"layer {layer}: unsupported mixer _target_ {target!r} ({tag}); supported: "
                              f"{', '.join(sorted(_KIND_BY_CLASS))}")
    return kind


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConversionError(f"unsupported official option: {message}")


def official_config(official: dict, state: dict[str, torch.Tensor], padding_semantics: str = "masked") -> JRTConfig:
    """The JRTConfig of an official config.json (shapes the config leaves open are read from the tensors)."""
    layers = _mixer_dicts(official)
    kinds = [_kind(tag, value, i) for i, (tag, value) in enumerate(layers)]
    get = official.get
    hidden = get("n_embd", get("hidden_size"))
    heads = get("n_head", get("num_attention_heads"))
    if not isinstance(hidden, int) or not isinstance(heads, int):
        raise ConversionError(f"config.json: n_embd and n_head must be ints, got {hidden!r}, {heads!r}")
    _require(get("activation_function") == "swiglu", f"activation_function={get('activation_function')!r}")
    _require(bool(get("rms_norm", False)), "rms_norm=false (LayerNorm)")
    _require(get("prenorm", True) and not get("parallel_block", False), "prenorm=false or parallel_block=true")
    _require(get("word_embed_proj_dim") is None, "word_embed_proj_dim")
    _require(not get("fused_dense_sqrelu_dense", False), "fused_dense_sqrelu_dense")
    _require(get("mlp_fc1_bias", True) == get("mlp_fc2_bias", True), "mlp_fc1_bias != mlp_fc2_bias")
    multiple = get("pad_vocab_size_multiple", 1)
    vocab = math.ceil(get("vocab_size", 50257) / multiple) * multiple
    fields: dict = dict(vocab_size=vocab, hidden_size=hidden, mixer_types=kinds, num_heads=heads,
                        rms_norm_eps=float(get("layer_norm_epsilon", 1e-5)), padding_semantics=padding_semantics,
                        tie_word_embeddings=bool(get("tie_word_embeddings", True)),
                        mlp_bias=bool(get("mlp_fc1_bias", True)))
    fc1 = next((state[k] for k in state if re.fullmatch(r"transformer\.layers\.\d+\.mlp\.fc1\.weight", k)), None)
    fields["intermediate_size"] = fc1.shape[0] // 2 if fc1 is not None else get("n_inner") or 4 * hidden
    head_dim = hidden // heads
    la = {}
    for (_, value), kind, i in zip(layers, kinds, range(len(kinds))):
        if kind == "conv":
            expand = value.get("expand_proj", 2)
            _require(expand % 2 == 0, f"layer {i}: BaseConv expand_proj={expand} (odd)")
            if str(value["_target_"]).endswith("BaseConvWithSiLU4"):  # the first of kernel_sizes
                kernel = (value.get("kernel_sizes") or [3])[0]
            else:  # BaseConv takes kernel_size; a kernel_sizes entry lands in its **kwargs, unused
                kernel = value.get("kernel_size", 3)
            fields.update(conv_expand=expand // 2, conv_kernel=int(kernel), conv_proj_bias=bool(value.get("use_bias", True)),
                          conv_bias=any(k.endswith(".mixer.conv.conv.bias") for k in state))
        elif kind in ("pla", "based"):
            feature_dim = value.get("feature_dim", 16)
            la_heads = value.get("num_heads", 16 if kind == "based" else None)
            _require(isinstance(la_heads, int) and hidden % la_heads == 0, f"layer {i}: num_heads={la_heads!r}")
            _require(value.get("head_dim") in (None, hidden // la_heads), f"layer {i}: head_dim={value.get('head_dim')}")
            _require(value.get("num_key_value_heads", la_heads) == la_heads, f"layer {i}: num_key_value_heads")
            _require(float(value.get("eps", 1e-12)) == 1e-12, f"layer {i}: eps={value.get('eps')}")
            _require(value.get("scale_dim") in (None, feature_dim), f"layer {i}: scale_dim={value.get('scale_dim')}")
            _require(not value.get("use_decay_proj", False), f"layer {i}: use_decay_proj=true (input-dependent decay)")
            fmap = value.get("feature_map")
            if isinstance(fmap, dict):
                _require(str(fmap.get("_target_", "")).endswith("TaylorExp"), f"layer {i}: feature_map {fmap}")
                _require(fmap.get("input_dim", feature_dim) == feature_dim, f"layer {i}: feature_map input_dim")
            else:
                _require(value.get("feature_name", "taylor_exp") == "taylor_exp", f"layer {i}: feature map")
            if kind == "pla":
                _require(value.get("use_mask", True) or padding_semantics == "masked",
                         f"layer {i}: use_mask=false with padding_semantics='official'")
                enc = value.get("enc_length", get("enc_length"))
                enc = enc if isinstance(enc, int) else get("enc_length")
                _require(isinstance(enc, int) and enc > 0, f"layer {i}: enc_length={enc!r}")
                la.setdefault("enc_length", set()).add(enc)
            la.setdefault("heads", set()).add(la_heads)
            la.setdefault("feature_dim", set()).add(feature_dim)
        else:  # swa: flash-attn window (w // 2, 0); the official code sets heads, biases, rotary from the config
            window = value.get("window_size", 128)
            _require(isinstance(window, int) and window >= 2 and window != 4096, f"layer {i}: window_size={window!r}")
            _require(get("n_head_kv", get("num_head_kv")) is None, "n_head_kv (grouped-query windows)")
            _require(get("scale_attn_weights", True) and not get("scale_attn_by_inverse_layer_idx", False),
                     "scale_attn_weights=false or scale_attn_by_inverse_layer_idx=true")
            _require(not get("rotary_emb_interleaved", False) and get("rotary_emb_scale_base") is None,
                     "interleaved or xPos rotary")
            _require(get("qkv_proj_bias", True) == get("out_proj_bias", True), "qkv_proj_bias != out_proj_bias")
            rotary = int(float(get("rotary_emb_fraction", 0.0)) * head_dim)
            _require(rotary % 2 == 0, f"rotary dim {rotary} (odd)")
            fields.update(window_size=window // 2 + 1, rotary_dim=rotary, rope_base=float(get("rotary_emb_base", 10000.0)),
                          attention_bias=bool(get("qkv_proj_bias", True)))
    for name, values in la.items():
        _require(len(values) == 1, f"linear-attention layers disagree on {name}: {sorted(values)}")
    fields["linear_attention_heads"] = la.get("heads", {None}).pop()
    fields["feature_dim"] = la.get("feature_dim", {16}).pop()
    fields["enc_length"] = la.get("enc_length", {get("enc_length") if isinstance(get("enc_length"), int) else 1024}).pop()
    for name, default in (("pad_token_id", 220), ("bos_token_id", 50256), ("eos_token_id", 50256),
                          ("mask_token_id", 50263)):
        value = get(name) if isinstance(get(name), int) else default
        fields[name] = value if value < vocab else (vocab - 1 if name == "mask_token_id" else None)
    try:
        return JRTConfig(**fields)
    except ValueError as exc:
        raise ConversionError(f"config.json gives an invalid model: {exc}") from None


def drop_derived_buffers(state: dict[str, torch.Tensor], config: JRTConfig, official: dict) -> dict[str, torch.Tensor]:
    """Buffers that the official modules compute from the config, checked and dropped: a window
    layer's rotary `inv_freq` (if saved) and the `fixed_decay` table (used only together with
    use_decay_proj, which official_config refuses)."""
    state = dict(state)
    for key in [k for k in state if k.endswith(".mixer.rotary_emb.inv_freq")]:
        layer = re.fullmatch(r"transformer\.layers\.(\d+)\.mixer\.rotary_emb\.inv_freq", key)
        if layer is None or config.mixer_types[int(layer.group(1))] != "swa":
            continue  # left for map_state_dict to report as unknown
        rot = config.rotary_dim if config.rotary_dim is not None else config.hidden_size // config.num_heads
        want = 1.0 / config.rope_base ** (torch.arange(0, rot, 2, dtype=torch.float64) / max(rot, 1))
        got = state.pop(key).double()
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4, atol=0):
            raise ConversionError(f"{key!r} does not match rotary_emb_fraction / rotary_emb_base of config.json")
    if official.get("fixed_decay", False):
        state.pop("transformer.decay.decay", None)
    return state


def _plan(config: JRTConfig) -> dict[str, list[str]]:
    """official key -> our key(s); fc1 splits into [up_proj; gate_proj]."""
    plan = {"transformer.embeddings.word_embeddings.weight": ["model.embed_tokens.weight"],
            "transformer.ln_f.weight": ["model.norm.weight"], "lm_head.weight": ["lm_head.weight"]}
    names = {"conv": [("in_proj", "in_proj"), ("conv.conv", "conv"), ("out_proj", "out_proj")],
             "pla": [("proj_q", "q_proj"), ("proj_k", "k_proj"), ("proj_v", "v_proj"), ("proj_k_enc", "k_enc_proj"),
                     ("proj_v_enc", "v_enc_proj"), ("out_proj", "out_proj")],
             "based": [("proj_q", "q_proj"), ("proj_k", "k_proj"), ("proj_v", "v_proj"), ("out_proj", "out_proj")],
             "swa": [("Wqkv", "qkv_proj"), ("out_proj", "out_proj")]}
    for i, kind in enumerate(config.mixer_types):
        src, dst = f"transformer.layers.{i}.", f"model.layers.{i}."
        plan[src + "norm1.weight"] = [dst + "mixer_norm.weight"]
        plan[src + "norm2.weight"] = [dst + "mlp_norm.weight"]
        for part in ("weight", "bias"):
            plan[f"{src}mlp.fc1.{part}"] = [f"{dst}mlp.up_proj.{part}", f"{dst}mlp.gate_proj.{part}"]
            plan[f"{src}mlp.fc2.{part}"] = [f"{dst}mlp.down_proj.{part}"]
            for theirs, ours in names[kind]:
                plan[f"{src}mixer.{theirs}.{part}"] = [f"{dst}mixer.{ours}.{part}"]
    return plan


def map_state_dict(state: dict[str, torch.Tensor], config: JRTConfig,
                   expected: dict[str, tuple]) -> dict[str, torch.Tensor]:
    """Our state dict from the official tensors; ConversionError names any unknown, missing or misshapen key."""
    plan = {k: v for k, v in _plan(config).items() if all(t in expected for t in v)}
    unknown = sorted(k for k in state if k not in plan)
    if unknown:
        raise ConversionError(f"unknown key {unknown[0]!r} in the official checkpoint"
                              + (f" (and {len(unknown) - 1} more: {unknown[1:4]})" if len(unknown) > 1 else ""))
    optional = {"lm_head.weight"} if config.tie_word_embeddings else set()
    missing = sorted(k for k in plan if k not in state and k not in optional)
    if missing:
        raise ConversionError(f"missing key {missing[0]!r} in the official checkpoint"
                              + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    out: dict[str, torch.Tensor] = {}
    for key, targets in plan.items():
        if key not in state:
            continue
        tensor = state[key]
        want = list(expected[targets[0]])
        want[0] *= len(targets)
        if tuple(tensor.shape) != tuple(want):
            raise ConversionError(f"shape mismatch for {key!r}: the checkpoint has {tuple(tensor.shape)}, the "
                                  f"config.json implies {tuple(want)}")
        for target, piece in zip(targets, tensor.chunk(len(targets), dim=0)):
            out[target] = piece.contiguous()
    embed = out["model.embed_tokens.weight"]
    if config.tie_word_embeddings:
        if "lm_head.weight" in out and not torch.equal(out["lm_head.weight"], embed):
            raise ConversionError("'lm_head.weight' differs from the word embeddings, but tie_word_embeddings is true")
        out["lm_head.weight"] = embed
    return out


def copy_tokenizer(src: Path, dst: Path) -> list[str]:
    """Copy the tokenizer files of a Hugging Face tokenizer folder (e.g. GPT-2's) into dst."""
    if not src.is_dir():
        raise ConversionError(f"tokenizer folder {str(src)!r} does not exist")
    copied = [name for name in TOKENIZER_FILES if (src / name).is_file()]
    if not copied:
        raise ConversionError(f"{src}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    for name in copied:
        shutil.copyfile(src / name, dst / name)
    return copied
