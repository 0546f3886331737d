"""Explicit prefill / decode (gpt-fast style) with an optional CUDA graph for the decode step.

`model.generate` (Hugging Face) is the general entry point; this module is the fast path used by
benchmarks/generate.py: one parallel prefill, then a decode step (`JRTForCausalLM.decode_logits`)
whose tensors never move, so it can be captured once as a CUDA graph and replayed for every token.
With ``compile=True`` the step is first compiled with torch.compile (Inductor fuses the norms,
activations, casts and cache copies that dominate a step's ~1,000 launches), then graphed; in bf16 on
CUDA its linear layers then run jrt.ops.skinny_linear instead of cuBLAS (``skinny_linear``).
"""
from __future__ import annotations

import torch

from .cache import JRTCache


def _with_skinny_linear(step):
    from jrt.ops.skinny_linear import SkinnyLinearMode

    def step_with_skinny_linear(*args):
        with SkinnyLinearMode():
            return step(*args)
    return step_with_skinny_linear


class RecurrentDecoder:
    """Greedy decoding of a JRTForCausalLM with a constant-size cache.

    decoder = RecurrentDecoder(model, cuda_graph=True)
    first = decoder.prefill(input_ids, attention_mask)     # [B] first new token
    token = decoder.step(first)                            # [B] each call: one O(1) step
    logits = decoder.step_logits(token)                    # [B, V] the same step, logits instead

    compile: torch.compile the step (the first steps then take seconds to minutes to compile; the
    step is traced once, not once per token). Tokens equal the eager ones up to the fused kernels'
    float rounding (the tests check equality on small models).
    compile_mode: torch.compile's mode for the step (None: its default). With cuda_graph=True use a
    mode without CUDA graphs of its own (e.g. "max-autotune-no-cudagraphs", which also searches
    Triton GEMM configs for the step's shapes): the decoder captures the graph itself.
    skinny_linear: run the step's linear layers (at most 16 rows each) through jrt.ops.skinny_linear,
    a Triton kernel that streams each weight once, instead of cuBLAS GEMMs. None (default): on for a
    compiled bf16 step on CUDA, where it was measured (H200: 1.13 instead of 1.45 ms per step at
    B = 1, equal at B = 16; docs/BENCHMARKS.md), off otherwise (on CPU there is no kernel to run; the
    eager step and other dtypes were not timed with it). True / False force it.
    """

    def __init__(self, model, cuda_graph: bool = False, compile: bool = False, skinny_linear: bool | None = None,
                 compile_mode: str | None = None):
        if compile_mode is not None and not compile:
            raise ValueError("RecurrentDecoder: compile_mode needs compile=True")
        if cuda_graph and compile_mode in ("reduce-overhead", "max-autotune"):
            raise ValueError(f"RecurrentDecoder: compile_mode={compile_mode!r} captures CUDA graphs of its own, "
                             "inside the decoder's graph; use 'max-autotune-no-cudagraphs' (or cuda_graph=False)")
        self.model = model
        self.cuda_graph = cuda_graph
        self.compile = compile
        self.compile_mode = compile_mode
        if skinny_linear is None:   # where it was timed: a compiled bf16 step on CUDA
            weight = next(model.parameters())
            skinny_linear = compile and weight.is_cuda and weight.dtype == torch.bfloat16
        self.skinny_linear = skinny_linear
        step = _with_skinny_linear(model.decode_logits) if skinny_linear else model.decode_logits
        self._step_logits = torch.compile(step, dynamic=False, mode=compile_mode) if compile else step
        self.cache: JRTCache | None = None
        self._graph = None
        self._static_token = None
        self._static_logits = None

    @torch.no_grad()
    def prefill(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.LongTensor:
        """Runs the prompt (already left-padded to >= enc_length for JRT models) in one pass."""
        out = self.model(input_ids, attention_mask=attention_mask, use_cache=True, logits_to_keep=1)
        self.cache = out.past_key_values
        self._graph = None
        return out.logits[:, -1].argmax(-1)                                          # [B]

    @torch.no_grad()
    def _eager_step(self, token: torch.LongTensor) -> torch.Tensor:
        logits = self._step_logits(token.view(-1, 1), self.cache)                   # [B, V]
        self.cache.seen_tokens += 1
        return logits

    def _capture(self, token: torch.LongTensor) -> None:
        self._static_token = token.view(-1, 1).clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        # warm-up steps on a side stream (allocations, Triton compilation), as torch.cuda.graphs asks;
        # they advance the cache, so snapshot it and restore afterwards
        snapshot = [{k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in layer.items()}
                    for layer in self.cache.layers]
        positions = self.cache.positions.clone()
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(2):  # (with compile=True the first of these compiles)
                self._step_logits(self._static_token, self.cache)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            self._static_logits = self._step_logits(self._static_token, self.cache)
        for layer, saved in zip(self.cache.layers, snapshot):
            for key, value in saved.items():
                if isinstance(value, torch.Tensor):
                    layer[key].copy_(value)
        self.cache.positions.copy_(positions)
        self._graph = graph

    def step_logits(self, token: torch.LongTensor) -> torch.Tensor:
        """Feeds token [B] and returns the next-token logits [B, V]. With a CUDA graph this is the
        graph's static output buffer, overwritten by the next step: clone it to keep it."""
        if self.cache is None:
            raise RuntimeError("call prefill() before step()")
        if not self.cuda_graph:
            return self._eager_step(token)
        if self._graph is None:
            self._capture(token)
        self._static_token.copy_(token.view(-1, 1))
        self._graph.replay()
        self.cache.seen_tokens += 1
        return self._static_logits

    def step(self, token: torch.LongTensor) -> torch.LongTensor:
        """Feeds token [B] and returns the next greedy token [B]."""
        return self.step_logits(token).argmax(-1)


@torch.no_grad()
def compare_with_eager(fast: RecurrentDecoder, model, input_ids: torch.LongTensor, steps: int,
                       reference=None) -> dict:
    """A fast decoder (graphed, compiled, skinny-linear) against a plain eager one from the same prompt
    (already prefix-filled for JRT models), over `steps` decode steps.

    Free-running greedy tokens diverge for good after the first flip, and with random weights the
    top two logits are often closer than bf16 rounding, so the token match alone cannot tell a
    rounding tie from a broken step. The check therefore also feeds both decoders the eager tokens
    (teacher forcing) and compares every step's logits: the largest difference, the share of equal
    argmaxes, and for the flipped ones the widest margin by which the eager logits prefer their own
    choice to the fast decoder's (a rounding tie has a margin at the logits' rounding error, e.g.
    ~1e-2 of the logit scale in bf16; a wrong step picks tokens the eager step ranks far lower).

    reference: the same model in a wider dtype (e.g. a float32 copy of a bf16 model), run eagerly and
    teacher-forced on the same tokens. Its logits measure how far each of the two steps is from the
    exact computation: if the fast step is no further from it than the eager step, their difference
    is rounding, not an error of the fast path."""
    eager = RecurrentDecoder(model)

    def run(decoder, feed=None):
        token, tokens, logits = decoder.prefill(input_ids), [], []
        for i in range(steps):
            step_logits = decoder.step_logits(token if feed is None else feed[:, i]).float().clone()
            token = step_logits.argmax(-1)
            tokens.append(token)
            logits.append(step_logits)
        return torch.stack(tokens, 1), torch.stack(logits, 1)                      # [B, S], [B, S, V]

    first = eager.prefill(input_ids)
    eager_tokens, eager_logits = run(eager)
    free_tokens, _ = run(fast)
    feed = torch.cat([first[:, None], eager_tokens[:, :-1]], 1)                      # the eager inputs
    _, forced_logits = run(fast, feed)
    fast_choice = forced_logits.argmax(-1)                                           # [B, S]
    flipped = fast_choice != eager_tokens
    margins = (eager_logits.gather(-1, eager_tokens[..., None])
               - eager_logits.gather(-1, fast_choice[..., None]))[..., 0][flipped]  # eager's preference
    check = {"vs_eager_token_match": float((free_tokens == eager_tokens).float().mean()),
             "vs_eager_forced_argmax_match": float((~flipped).float().mean()),
             "vs_eager_forced_max_logit_diff": float((forced_logits - eager_logits).abs().max()),
             "vs_eager_logit_scale": float(eager_logits.abs().max()),
             "vs_eager_flip_margin_max": float(margins.max()) if margins.numel() else 0.0}
    if reference is not None:
        _, exact = run(RecurrentDecoder(reference), feed)
        check.update({"reference_dtype": str(next(reference.parameters()).dtype).replace("torch.", ""),
                      "eager_vs_reference_max_logit_diff": float((eager_logits - exact).abs().max()),
                      "fast_vs_reference_max_logit_diff": float((forced_logits - exact).abs().max())})
    return check


@torch.no_grad()
def greedy_generate(model, input_ids, attention_mask=None, max_new_tokens: int = 32, cuda_graph: bool = False,
                    prefix_fill: str = "pad", compile: bool = False,
                    skinny_linear: bool | None = None) -> torch.LongTensor:
    """[B, T] prompt -> [B, max_new_tokens] greedy tokens, through RecurrentDecoder."""
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if model.config.is_jrt:
        input_ids, attention_mask = model._fill_prefix(input_ids, attention_mask, prefix_fill)
    decoder = RecurrentDecoder(model, cuda_graph=cuda_graph, compile=compile, skinny_linear=skinny_linear)
    token = decoder.prefill(input_ids, attention_mask)
    tokens = [token]
    for _ in range(max_new_tokens - 1):
        token = decoder.step(token)
        tokens.append(token)
    return torch.stack(tokens, 1)
