"""JRTConfig: one config for the whole family (JRT-RNN, Based), described by its layer pattern."""
from __future__ import annotations

from transformers import PretrainedConfig

LAYER_TYPES = ("conv", "pla", "based", "swa")


class JRTConfig(PretrainedConfig):
    """Configuration of JRTForCausalLM.

    mixer_types: one entry per block: "conv" (gated short convolution), "pla" (prefix linear
    attention: JRT-RNN), "based" (causal Based linear attention), "swa" (sliding-window attention).
    enc_length: the length of the non-causal prefix of "pla" layers (the paper's M = 1024).
    mask_token_id: the [MASK] token of the MLM objective (GPT-2 vocabulary padded to 50264: 50263).
    ops_backend: the jrt.ops backend of the linear-attention layers ("naive", "torch", "triton"); None
        picks Triton for CUDA tensors and the chunked torch path otherwise.
    padding_semantics: how an attention_mask's padded positions are read. "masked" (default): a pad
        changes nothing (each row as it would be alone). "official": as the official JRT code reads
        a left-padded prompt (the official checkpoints' evaluation): pads pass unmasked through
        the convolutions, windows and rotary positions, the prefix is the first enc_length columns,
        and only the raw PLA keys k, k_enc of pads are zeroed (when T <= enc_length), so a pad still
        adds its constant feature 1 and its v to both prefix sums (docs/MODELS.md).
    linear_attention_heads: heads of the "pla"/"based" layers (None: num_heads); the official
        Based 1.3B has 28 linear-attention heads next to 16 window heads.
    rotary_dim: leading dims of each window head that rotary rotates (None: all, 0: none).
    conv_bias / conv_proj_bias: a bias on the short convolution's filter / on its in and out
        projections. mlp_bias / attention_bias: biases on the SwiGLU / window projections.
    """

    model_type = "jrt"

    def __init__(
        self,
        vocab_size: int = 50264,
        hidden_size: int = 1024,
        num_hidden_layers: int | None = None,
        mixer_types: list[str] | None = None,
        num_heads: int = 16,
        feature_dim: int = 16,
        enc_length: int = 1024,
        window_size: int = 128,
        intermediate_size: int | None = None,
        use_mlp: bool = True,
        conv_kernel: int = 3,
        conv_expand: int = 2,
        rms_norm_eps: float = 1e-5,
        rope_base: float = 10000.0,
        initializer_range: float = 0.02,
        mask_token_id: int = 50263,
        pad_token_id: int = 220,
        bos_token_id: int = 50256,
        eos_token_id: int = 50256,
        tie_word_embeddings: bool = True,
        ops_backend: str | None = None,
        padding_semantics: str = "masked",
        linear_attention_heads: int | None = None,
        rotary_dim: int | None = None,
        conv_bias: bool = True,
        conv_proj_bias: bool = True,
        mlp_bias: bool = False,
        attention_bias: bool = False,
        **kwargs,
    ):
        # (named mixer_types, not layer_types: transformers validates `layer_types` against its own kinds)
        mixer_types = list(mixer_types) if mixer_types is not None else ["conv", "pla", "swa", "conv"]
        bad = [t for t in mixer_types if t not in LAYER_TYPES]
        if bad:
            raise ValueError(f"mixer_types must be drawn from {LAYER_TYPES}, got {bad}")
        if num_hidden_layers is not None and num_hidden_layers != len(mixer_types):
            raise ValueError(f"num_hidden_layers={num_hidden_layers} but mixer_types has {len(mixer_types)} entries")
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
        if enc_length < 1:
            raise ValueError(f"enc_length must be >= 1, got {enc_length}")
        if ops_backend not in (None, "naive", "torch", "triton"):
            raise ValueError(f"ops_backend must be None, 'naive', 'torch' or 'triton', got {ops_backend!r}")
        if padding_semantics not in ("masked", "official"):
            raise ValueError(f"padding_semantics must be 'masked' or 'official', got {padding_semantics!r}")
        if linear_attention_heads is not None and hidden_size % linear_attention_heads:
            raise ValueError(f"hidden_size {hidden_size} must be divisible by linear_attention_heads "
                             f"{linear_attention_heads}")
        head_dim = hidden_size // num_heads
        if rotary_dim is not None and not (0 <= rotary_dim <= head_dim and rotary_dim % 2 == 0):
            raise ValueError(f"rotary_dim must be even and in [0, head_dim={head_dim}], got {rotary_dim}")
        self.padding_semantics = padding_semantics
        self.linear_attention_heads = linear_attention_heads
        self.rotary_dim = rotary_dim
        self.conv_bias = conv_bias
        self.conv_proj_bias = conv_proj_bias
        self.mlp_bias = mlp_bias
        self.attention_bias = attention_bias
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.mixer_types = mixer_types
        self.num_hidden_layers = len(mixer_types)
        self.num_heads = num_heads
        self.feature_dim = feature_dim
        self.enc_length = enc_length
        self.window_size = window_size
        self.intermediate_size = intermediate_size if intermediate_size is not None else 2 * hidden_size
        self.use_mlp = use_mlp
        self.conv_kernel = conv_kernel
        self.conv_expand = conv_expand
        self.rms_norm_eps = rms_norm_eps
        self.rope_base = rope_base
        self.initializer_range = initializer_range
        self.mask_token_id = mask_token_id
        self.ops_backend = ops_backend
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)

    @property
    def is_jrt(self) -> bool:
        """True when the model reads a non-causal prefix (has prefix linear attention layers)."""
        return "pla" in self.mixer_types
