"""Models for the synthetic comparison, built from a `ModelSpec`, each with its state in bytes.

| kind        | model                                                    | state counted                          |
|-------------|----------------------------------------------------------|----------------------------------------|
| `attention` | HF `LlamaForCausalLM` (rotary, SwiGLU MLP)                | KV cache at the test sequence length   |
| `based`     | `jrt.models.JRTForCausalLM`, layers conv/based alternating | `model.recurrent_state_bytes()`        |
| `jrt`       | `jrt.models.JRTForCausalLM`, layers conv/pla alternating   | `model.recurrent_state_bytes()`        |
| `mamba2`    | HF `Mamba2ForCausalLM` (torch path on CPU)                | SSM state + conv state                 |
| `gla`       | `fla.models.GLAForCausalLM`, only where `import fla` works | recurrent state (keys x values x heads) |

Bytes are counted in float32 (4 bytes per element) for every model: the recurrent states of the
JRT/Based kernels are float32 whatever the compute dtype. Sizes line up through d_model and
feature_dim: Based/JRT-RNN state per linear-attention layer is heads * (1+F+F^2) * (d/heads + 1);
the Mamba2 `state_size` defaults to the value that gives the same total (see `mamba_state_size`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

MODEL_KINDS = ("attention", "based", "jrt", "mamba2", "gla")
BYTES_PER_ELEMENT = 4  # float32 states
_DISPLAY = {"attention": "Attention", "based": "Based", "jrt": "JRT-RNN", "mamba2": "Mamba2", "gla": "GLA"}


@dataclass(frozen=True)
class ModelSpec:
    kind: str  # one of MODEL_KINDS
    d_model: int = 64
    num_layers: int = 4  # recurrent models: total layers (conv/mixer alternating for based/jrt)
    num_heads: int = 2
    feature_dim: int = 16  # based/jrt: Taylor feature dim F; mamba2: sets the matched state size
    use_mlp: bool = False  # based/jrt/mamba2: no MLP follows the zoology set-disjointness code
    mlp_ratio: int = 2
    conv_kernel: int = 3
    attention_layers: int = 2  # attention: number of Llama layers (each with its MLP)
    mamba_expand: int = 2
    mamba_state_size: int | None = None  # None: matched to Based at the same d_model/feature_dim
    dropout: float = 0.0

    def __post_init__(self):
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")

    @property
    def display(self) -> str:
        return _DISPLAY[self.kind]


def fla_available() -> bool:
    try:
        import fla  # noqa: F401
        from fla.models import GLAConfig, GLAForCausalLM  # noqa: F401
    except Exception:
        return False
    return True


def jrt_models_available() -> bool:
    try:
        from jrt.models import JRTConfig, JRTForCausalLM  # noqa: F401
    except Exception:
        return False
    return True


def mixer_layer_types(spec: ModelSpec) -> list[str]:
    mixer = "pla" if spec.kind == "jrt" else "based"
    return ["conv" if i % 2 == 0 else mixer for i in range(spec.num_layers)]


def based_state_elements(spec: ModelSpec) -> int:
    """Elements of the (S, z) states of the linear-attention layers of a Based/JRT-RNN spec."""
    n_mixers = sum(t != "conv" for t in mixer_layer_types(spec))
    F = spec.feature_dim
    E = 1 + F + F * F
    head_dim = spec.d_model // spec.num_heads
    return n_mixers * spec.num_heads * E * (head_dim + 1)


def mamba_state_size(spec: ModelSpec) -> int:
    """Mamba2 d_state giving the Based state of the same (d_model, feature_dim), all layers together."""
    if spec.mamba_state_size is not None:
        return spec.mamba_state_size
    target = based_state_elements(dataclasses.replace(spec, kind="based"))
    per_unit = spec.num_layers * spec.mamba_expand * spec.d_model
    return max(1, round(target / per_unit))


def _mamba_head_dim(inner: int) -> int:
    for hd in (16, 12, 8, 6, 4, 2, 1):
        if inner % hd == 0:
            return hd
    return 1


def build_model(spec: ModelSpec, vocab_size: int, max_seq_len: int = 2048) -> nn.Module:
    """A freshly initialised model for `spec` (call `torch.manual_seed` first for reproducibility)."""
    if spec.kind == "attention":
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = LlamaConfig(
            vocab_size=vocab_size, hidden_size=spec.d_model, intermediate_size=spec.mlp_ratio * spec.d_model,
            num_hidden_layers=spec.attention_layers, num_attention_heads=spec.num_heads,
            num_key_value_heads=spec.num_heads, max_position_embeddings=max(2048, max_seq_len),
            tie_word_embeddings=True, attention_dropout=spec.dropout,
        )
        return LlamaForCausalLM(cfg)
    if spec.kind in ("based", "jrt"):
        if not jrt_models_available():
            raise ImportError("jrt.models (JRTConfig, JRTForCausalLM) is not available yet: cannot build "
                              f"a {spec.kind!r} model")
        from jrt.models import JRTConfig, JRTForCausalLM

        cfg = JRTConfig(
            vocab_size=vocab_size, hidden_size=spec.d_model, num_hidden_layers=spec.num_layers,
            mixer_types=mixer_layer_types(spec), num_heads=spec.num_heads, feature_dim=spec.feature_dim,
            enc_length=1, use_mlp=spec.use_mlp, intermediate_size=spec.mlp_ratio * spec.d_model,
            conv_kernel=spec.conv_kernel, tie_word_embeddings=True,
            # special ids inside the small synthetic vocabulary (unused here: no MLM, no generation)
            mask_token_id=0, pad_token_id=0, bos_token_id=None, eos_token_id=None,
        )
        return JRTForCausalLM(cfg)
    if spec.kind == "mamba2":
        from transformers import Mamba2Config, Mamba2ForCausalLM

        inner = spec.mamba_expand * spec.d_model
        hd = _mamba_head_dim(inner)
        cfg = Mamba2Config(
            vocab_size=vocab_size, hidden_size=spec.d_model, num_hidden_layers=spec.num_layers,
            state_size=mamba_state_size(spec), expand=spec.mamba_expand, head_dim=hd, num_heads=inner // hd,
            n_groups=1, conv_kernel=4, chunk_size=64, tie_word_embeddings=True,
        )
        return Mamba2ForCausalLM(cfg)
    if spec.kind == "gla":
        if not fla_available():
            raise ImportError("GLA needs flash-linear-attention (`import fla` failed)")
        from fla.models import GLAConfig, GLAForCausalLM

        kwargs = dict(vocab_size=vocab_size, hidden_size=spec.d_model, num_hidden_layers=spec.num_layers,
                      num_heads=spec.num_heads, expand_k=0.5, expand_v=1.0, tie_word_embeddings=True)
        cfg = GLAConfig(**kwargs)
        for flag in ("fuse_cross_entropy", "fuse_linear_cross_entropy"):  # we compute the loss ourselves
            if hasattr(cfg, flag):
                setattr(cfg, flag, False)
        return GLAForCausalLM(cfg)
    raise ValueError(f"unknown model kind {spec.kind!r}")


def state_bytes(model: nn.Module, spec: ModelSpec, seq_len: int) -> dict:
    """{part: bytes, "total": bytes} of the decode state of one sequence of length `seq_len`."""
    B = BYTES_PER_ELEMENT
    if spec.kind == "attention":
        cfg = model.config
        head_dim = cfg.hidden_size // cfg.num_attention_heads
        kv = 2 * cfg.num_hidden_layers * seq_len * cfg.num_key_value_heads * head_dim * B
        return {"kv_cache": kv, "total": kv}
    if spec.kind in ("based", "jrt"):
        fn = getattr(model, "recurrent_state_bytes", None)
        if fn is not None:
            out = {str(k): int(v) for k, v in fn(batch_size=1, dtype=torch.float32).items()}
            out.setdefault("total", sum(v for k, v in out.items()))
            return out
        la = based_state_elements(spec) * B
        return {"linear_attention": la, "total": la}
    if spec.kind == "mamba2":
        cfg = model.config
        inner = cfg.expand * cfg.hidden_size
        ssm = cfg.num_hidden_layers * cfg.num_heads * cfg.head_dim * cfg.state_size * B
        conv = cfg.num_hidden_layers * (inner + 2 * cfg.n_groups * cfg.state_size) * cfg.conv_kernel * B
        return {"ssm": ssm, "conv": conv, "total": ssm + conv}
    if spec.kind == "gla":
        cfg = model.config
        key_dim = int(cfg.hidden_size * cfg.expand_k)
        value_dim = int(cfg.hidden_size * cfg.expand_v)
        s = cfg.num_hidden_layers * key_dim * value_dim // cfg.num_heads * B
        return {"recurrent": s, "total": s}
    raise ValueError(spec.kind)


def set_enc_length(model: nn.Module, enc_length: int) -> None:
    """Set the non-causal prefix length of a JRT model for the next forward (per batch)."""
    enc_length = max(1, int(enc_length))  # JRTConfig requires >= 1; a causal run never reads it
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "enc_length"):
        cfg.enc_length = int(enc_length)
    for m in model.modules():
        if m is not model and "enc_length" in vars(m) and isinstance(vars(m)["enc_length"], int):
            m.enc_length = int(enc_length)
        sub_cfg = vars(m).get("config")
        if sub_cfg is not None and sub_cfg is not cfg and hasattr(sub_cfg, "enc_length"):
            sub_cfg.enc_length = int(enc_length)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fmt_bytes(n: float) -> str:
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if n < 100 else f"{n:.0f} {unit}"
    return str(n)


def log2_bytes(n: float) -> float:
    return math.log2(max(1.0, n))
