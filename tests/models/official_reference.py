"""An independent float64 forward of the official JRT-RNN / Based architecture, and tiny random
checkpoints in the official layout (config.json + pytorch_model.bin).

Written from the formulas of the official modules (GPTLMHeadModel with BaseConv,
PrefixLinearAttention, LinearAttention, SlidingAttention), working on the official tensor names
and config dict directly, so jrt's conversion is checked against something that shares none of
its code. Semantics follow the official forward: an attention mask reaches the PLA layers only,
where it zeroes the raw keys k and k_enc of masked positions (when T <= enc_length); convolution,
windows and rotary positions read every column.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

TARGETS = {
    "conv": "based.models.mixers.convolution.BaseConv",
    "pla": "based.models.mixers.prefix_linear_attention.PrefixLinearAttention",
    "based": "based.models.mixers.linear_attention.LinearAttention",
    "swa": "based.models.mixers.slide_attention.SlidingAttention",
}


def official_config(kinds: list[str], n_embd=32, n_head=2, feature_dim=4, enc_length=8, window_size=8,
                    vocab_size=50, n_inner=64, expand_proj=4, rotary_emb_fraction=1.0) -> dict:
    """A config.json dict as the official GPT2MixerConfig dump writes it, for a layer pattern made
    of "conv" plus one attention kind ("pla" or "based") and "swa"."""
    alt_kind = "pla" if "pla" in kinds else "based"
    alt = {"_target_": TARGETS[alt_kind], "l_max": 2048, "feature_dim": feature_dim, "num_heads": n_head}
    if alt_kind == "pla":
        alt.update(feature_name="taylor_exp", num_key_value_heads=n_head, enc_length=enc_length,
                   dec_length=enc_length, implementation="default", use_mask=True)
    else:
        alt.update(feature_map={"_target_": "based.models.mixers.linear_attention.TaylorExp",
                                "input_dim": feature_dim})
    return {
        "model_type": "gpt2", "architectures": ["GPTLMHeadModel"], "vocab_size": vocab_size, "n_embd": n_embd,
        "n_head": n_head, "n_layer": len(kinds), "n_inner": n_inner, "n_positions": 0,
        "layer_norm_epsilon": 1e-5, "activation_function": "swiglu", "rms_norm": True, "fused_mlp": False,
        "mlp_fc1_bias": False, "mlp_fc2_bias": False, "qkv_proj_bias": False, "out_proj_bias": False,
        "fused_bias_fc": True, "use_flash_attn": True, "residual_in_fp32": True, "fused_dropout_add_ln": True,
        "rotary_emb_fraction": rotary_emb_fraction, "pad_vocab_size_multiple": 8, "special_initializer": True,
        "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "attn_pdrop": 0, "embd_pdrop": 0, "resid_pdrop": 0, "tie_word_embeddings": True,
        "bos_token_id": 50256, "eos_token_id": 50256, "enc_length": enc_length, "dec_length": enc_length,
        "alt_mixer_layers": [i for i, k in enumerate(kinds) if k == alt_kind],
        "alt_mixer_2_layers": [i for i, k in enumerate(kinds) if k == "swa"],
        "mixer": {"_target_": TARGETS["conv"], "l_max": 2048, "use_bias": True, "expand_proj": expand_proj,
                  "kernel_sizes": [3]},
        "alt_mixer": alt,
        "alt_mixer_2": {"_target_": TARGETS["swa"], "window_size": window_size, "num_heads": n_head,
                        "causal": True, "use_mask": True},
    }


def kinds_of(cfg: dict) -> list[str]:
    out = []
    for i in range(cfg["n_layer"]):
        tag = "alt_mixer_2" if i in cfg["alt_mixer_2_layers"] else "alt_mixer" if i in cfg["alt_mixer_layers"] else "mixer"
        name = cfg[tag]["_target_"].rsplit(".", 1)[-1]
        out.append({"BaseConv": "conv", "PrefixLinearAttention": "pla", "LinearAttention": "based",
                    "SlidingAttention": "swa"}[name])
    return out


def random_state_dict(cfg: dict, seed: int = 0, scale: float = 0.3) -> dict[str, torch.Tensor]:
    """Random float32 tensors under the official names (lm_head tied to the embeddings, saved twice
    as the official state_dict() holds it) plus a metrics counter the converter must drop."""
    g = torch.Generator().manual_seed(seed)
    d, h = cfg["n_embd"], cfg["n_head"]
    fd, hidden = cfg["alt_mixer"]["feature_dim"], cfg["n_inner"]
    inner = cfg["mixer"]["expand_proj"] * d // 2
    vocab = math.ceil(cfg["vocab_size"] / cfg["pad_vocab_size_multiple"]) * cfg["pad_vocab_size_multiple"]

    def rnd(*shape, s=scale):
        return torch.randn(*shape, generator=g) * s

    sd = {"transformer.embeddings.word_embeddings.weight": rnd(vocab, d, s=1.0)}
    for i, kind in enumerate(kinds_of(cfg)):
        p = f"transformer.layers.{i}."
        sd[p + "norm1.weight"] = 1 + rnd(d, s=0.1)
        sd[p + "norm2.weight"] = 1 + rnd(d, s=0.1)
        sd[p + "mlp.fc1.weight"] = rnd(2 * hidden, d)
        sd[p + "mlp.fc2.weight"] = rnd(d, hidden)
        m = p + "mixer."
        if kind == "conv":
            sd.update({m + "in_proj.weight": rnd(2 * inner, d), m + "in_proj.bias": rnd(2 * inner),
                       m + "conv.conv.weight": rnd(inner, 1, 3, s=0.5), m + "out_proj.weight": rnd(d, inner),
                       m + "out_proj.bias": rnd(d)})
        elif kind in ("pla", "based"):
            names = ["proj_q", "proj_k", "proj_k_enc"] if kind == "pla" else ["proj_q", "proj_k"]
            sd.update({m + n + ".weight": rnd(h * fd, d) for n in names})
            sd.update({m + n + ".weight": rnd(d, d) for n in (["proj_v", "proj_v_enc"] if kind == "pla" else ["proj_v"])})
            sd[m + "out_proj.weight"] = rnd(d, d)
        else:
            sd[m + "Wqkv.weight"] = rnd(3 * d, d)
            sd[m + "out_proj.weight"] = rnd(d, d)
    sd["transformer.ln_f.weight"] = 1 + rnd(d, s=0.1)
    sd["lm_head.weight"] = sd["transformer.embeddings.word_embeddings.weight"]
    sd["train_metrics.num-tokens.count"] = torch.tensor(123)
    return sd


def save_official(folder: Path, cfg: dict, sd: dict, prefix: str = "model.") -> Path:
    """The hub layout the official from_pretrained_hf reads: config.json + pytorch_model.bin."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    torch.save({prefix + k if "metrics" not in k else k: v for k, v in sd.items()}, folder / "pytorch_model.bin")
    return folder


# ------------------------------------------------------------------------------------------------
# the forward, in float64


def _rms(x, w, eps):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def _taylor(x):  # [..., F] -> [..., 1 + F + F^2]: exp(q.k / sqrt(F)) to 2nd order
    f = x.shape[-1]
    outer = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2)
    return torch.cat([torch.ones_like(x[..., :1]), x / f ** 0.25, outer / (math.sqrt(2) * math.sqrt(f))], -1)


def _heads(x, h):  # [B, T, h*c] -> [B, h, T, c]
    b, t, _ = x.shape
    return x.view(b, t, h, -1).transpose(1, 2)


def _merge(y):  # [B, h, T, c] -> [B, T, h*c]
    return y.transpose(1, 2).reshape(y.shape[0], y.shape[2], -1)


def _linear_attention(x, w, m, h, prefix_len, key_mask):
    q, k, v = _heads(x @ w[m + "proj_q.weight"].T, h), _heads(x @ w[m + "proj_k.weight"].T, h), \
        _heads(x @ w[m + "proj_v.weight"].T, h)
    if key_mask is not None:
        k = k * key_mask[:, None, :, None]
    pq, pk = _taylor(q), _taylor(k)
    scores = torch.tril(pq @ pk.transpose(-1, -2))
    num, den = scores @ v, scores.sum(-1)
    if prefix_len is not None:  # PLA: the non-causal prefix through k_enc / v_enc
        xe = x[:, :prefix_len]
        ke, ve = _heads(xe @ w[m + "proj_k_enc.weight"].T, h), _heads(xe @ w[m + "proj_v_enc.weight"].T, h)
        if key_mask is not None:
            ke = ke * key_mask[:, None, :prefix_len, None]
        enc = pq @ _taylor(ke).transpose(-1, -2)
        num, den = num + enc @ ve, den + enc.sum(-1)
    return _merge(num / (den + 1e-12).unsqueeze(-1)) @ w[m + "out_proj.weight"].T


def _window(x, w, m, h, window_size, rotary_dim):
    b, t, d = x.shape
    hd = d // h
    qkv = (x @ w[m + "Wqkv.weight"].T).view(b, t, 3, h, hd)
    q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))                    # [B, h, T, hd]
    if rotary_dim:
        half = rotary_dim // 2
        inv = 1.0 / 10000.0 ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim)
        ang = torch.arange(t, dtype=torch.float64)[:, None] * inv                  # columns, pads included
        cos, sin = ang.cos(), ang.sin()

        def rot(z):
            a, c, rest = z[..., :half], z[..., half:rotary_dim], z[..., rotary_dim:]
            return torch.cat([a * cos - c * sin, a * sin + c * cos, rest], -1)
        q, k = rot(q), rot(k)
    i = torch.arange(t)
    allowed = (i[None, :] <= i[:, None]) & (i[None, :] >= i[:, None] - window_size // 2)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    s = s.masked_fill(~allowed, float("-inf"))
    return _merge(torch.softmax(s, -1) @ v) @ w[m + "out_proj.weight"].T


def _conv(x, w, m, kernel=3):
    u = x @ w[m + "in_proj.weight"].T + w[m + "in_proj.bias"]
    inner = u.shape[-1] // 2
    u1, u2 = u[..., :inner], u[..., inner:]
    filt = w[m + "conv.conv.weight"][:, 0]                                          # [inner, k]
    padded = F.pad(u1, (0, 0, kernel - 1, 0))                                       # zeros before t = 0
    y = sum(padded[:, j: j + u1.shape[1]] * filt[:, j] for j in range(kernel))
    return (F.silu(y) * u2) @ w[m + "out_proj.weight"].T + w[m + "out_proj.bias"]


def reference_logits(sd: dict, cfg: dict, ids: torch.Tensor, mask: torch.Tensor | None = None,
                     prefix_len: int | None = None, prompt_len: int | None = None) -> torch.Tensor:
    """Official logits [B, T, V] in float64. mask [B, T] (1 = real) as the official `mask=` kwarg;
    prefix_len: the PLA prefix columns (default min(enc_length, T); a decode step keeps the prompt's);
    prompt_len: the prefill length that decides whether the mask applies (default T)."""
    w = {k: v.double() for k, v in sd.items() if v.is_floating_point()}
    t = ids.shape[1]
    enc = cfg["alt_mixer"].get("enc_length", cfg.get("enc_length"))
    prefix = min(enc, t) if prefix_len is None else prefix_len
    key_mask = mask.double() if mask is not None and (prompt_len or t) <= enc else None
    h, eps = cfg["n_head"], cfg["layer_norm_epsilon"]
    x = w["transformer.embeddings.word_embeddings.weight"][ids]
    rotary = int(cfg["rotary_emb_fraction"] * cfg["n_embd"] // h)
    for i, kind in enumerate(kinds_of(cfg)):
        p = f"transformer.layers.{i}."
        y = _rms(x, w[p + "norm1.weight"], eps)
        if kind == "conv":
            x = x + _conv(y, w, p + "mixer.")
        elif kind == "pla":
            x = x + _linear_attention(y, w, p + "mixer.", cfg["alt_mixer"]["num_heads"], prefix, key_mask)
        elif kind == "based":
            x = x + _linear_attention(y, w, p + "mixer.", cfg["alt_mixer"]["num_heads"], None, None)
        else:
            x = x + _window(y, w, p + "mixer.", h, cfg["alt_mixer_2"]["window_size"], rotary)
        y = _rms(x, w[p + "norm2.weight"], eps)
        value, gate = (y @ w[p + "mlp.fc1.weight"].T).chunk(2, -1)
        x = x + (value * F.silu(gate)) @ w[p + "mlp.fc2.weight"].T
    x = _rms(x, w["transformer.ln_f.weight"], eps)
    return x @ w["transformer.embeddings.word_embeddings.weight"].T


def reference_greedy(sd: dict, cfg: dict, ids: torch.Tensor, new_tokens: int,
                     mask: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy continuation [B, new_tokens] as the official prefill + recurrent decode gives it: the
    prefix is the prompt's first enc_length columns, generated tokens are read causally, and a
    prompt mask acts on the prompt's keys only (the decode steps are never masked)."""
    enc = cfg["alt_mixer"].get("enc_length", cfg.get("enc_length"))
    prefix, prompt_len = min(enc, ids.shape[1]), ids.shape[1]
    out = ids
    for _ in range(new_tokens):
        full_mask = None if mask is None else torch.cat([mask, mask.new_ones(mask.shape[0], out.shape[1] - prompt_len)], 1)
        logits = reference_logits(sd, cfg, out, full_mask, prefix_len=prefix, prompt_len=prompt_len)
        out = torch.cat([out, logits[:, -1].argmax(-1, keepdim=True)], 1)
    return out[:, ids.shape[1]:]
