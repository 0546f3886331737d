"""Models for the synthetic comparison, sized by a `ModelSpec`, each with its decode state in bytes.

| kind        | model                                                      | built by                       |
|-------------|------------------------------------------------------------|--------------------------------|
| `attention` | transformers' Llama (rotary, SwiGLU MLP)                     | jrt.baselines.llama_config     |
| `based`     | JRTForCausalLM, layers conv / Based alternating              | jrt.models.JRTConfig           |
| `jrt`       | JRTForCausalLM, layers conv / PLA alternating                | jrt.models.JRTConfig           |
| `mamba2`    | transformers' Mamba2 (torch path on CPU)                     | jrt.baselines.mamba2_config    |
| `gla`       | fla's GLA, only where `import fla` works                     | jrt.baselines.gla_config       |

State bytes follow jrt.baselines.decode_state_bytes with activations in float32 (the synthetic
models are stored and decoded in float32; the linear-attention states are float32 anyway). Sizes
line up through d_model and feature_dim: a Based/JRT-RNN linear-attention layer holds
heads * (1+F+F^2) * (d/heads + 1) numbers; the Mamba2 `state_size` defaults to the value that gives
the same total (see `mamba_state_size`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from jrt import baselines

MODEL_KINDS = ("attention", "based", "jrt", "mamba2", "gla")
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
    ops_backend: str | None = None  # based/jrt: jrt.ops backend (None: Triton on CUDA, chunked torch on CPU)

    def __post_init__(self):
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")

    @property
    def display(self) -> str:
        return _DISPLAY[self.kind]


fla_available = baselines.fla_available


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


def build_model(spec: ModelSpec, vocab_size: int, max_seq_len: int = 2048) -> nn.Module:
    """A freshly initialised model for `spec` (call `torch.manual_seed` first for reproducibility)."""
    if spec.kind == "attention":
        config = baselines.llama_config(spec.d_model, spec.attention_layers, vocab_size, heads=spec.num_heads,
                                        intermediate=spec.mlp_ratio * spec.d_model, max_positions=max_seq_len,
                                        dropout=spec.dropout)
        return baselines.build("llama", config)
    if spec.kind in ("based", "jrt"):
        from jrt.models import JRTConfig, JRTForCausalLM

        config = JRTConfig(
            vocab_size=vocab_size, hidden_size=spec.d_model, num_hidden_layers=spec.num_layers,
            mixer_types=mixer_layer_types(spec), num_heads=spec.num_heads, feature_dim=spec.feature_dim,
            use_mlp=spec.use_mlp, intermediate_size=spec.mlp_ratio * spec.d_model, conv_kernel=spec.conv_kernel,
            tie_word_embeddings=True, ops_backend=spec.ops_backend,
            # special ids inside the small synthetic vocabulary (unused here: no MLM, no generation)
            mask_token_id=0, pad_token_id=0, bos_token_id=None, eos_token_id=None,
        )
        return JRTForCausalLM(config)
    if spec.kind == "mamba2":
        inner = spec.mamba_expand * spec.d_model
        head_dim = next(h for h in (16, 12, 8, 6, 4, 2, 1) if inner % h == 0)   # small heads at small widths
        config = baselines.mamba2_config(spec.d_model, spec.num_layers, vocab_size, state_size=mamba_state_size(spec),
                                         head_dim=head_dim, expand=spec.mamba_expand, chunk_size=64)
        return baselines.build("mamba2", config)
    if spec.kind == "gla":
        return baselines.build("gla", baselines.gla_config(spec.d_model, spec.num_layers, vocab_size,
                                                           heads=spec.num_heads))
    raise ValueError(f"unknown model kind {spec.kind!r}")


def state_bytes(model: nn.Module, spec: ModelSpec, seq_len: int) -> dict:
    """{part: bytes, "total": bytes} of the decode state of one sequence of length `seq_len` (float32)."""
    return baselines.decode_state_bytes(model, seq_len, torch.float32)


num_parameters = baselines.count_parameters


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
