"""Train one model on one synthetic task, evaluate accuracy per slice, run sweeps with a time budget.

Typed configs: `RunConfig` = task (`MQARTask` | `SetDisjointnessTask`) + `Variant` + `ModelSpec` +
`TrainConfig`. Training follows zoology's `train.py`: AdamW (weight decay 0.1), cosine schedule
(short linear warm-up), cross-entropy only at answer positions, evaluation on the test mixture every
`eval_every` steps, early stop once test accuracy >= `early_stop_acc` (0.99). On CUDA: bf16
autocast, data resident on the GPU, large batches.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from jrt.train.optim import build_optimizer, build_schedule

from .data import IGNORE_INDEX, MQARTask, SetDisjointnessTask, SynthData, Variant, load_data, slice_key
from .model_factory import ModelSpec, build_model, num_parameters, state_bytes


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    batch_size: int = 64
    max_steps: int = 1000
    warmup_frac: float = 0.02
    min_lr_frac: float = 0.0  # cosine to lr * min_lr_frac (zoology: eta_min 0)
    grad_clip: float = 1.0
    eval_every: int = 200
    eval_batch_size: int = 256
    early_stop_acc: float = 0.99
    seed: int = 0  # init and batch order
    bf16: bool = True  # autocast on CUDA only
    max_seconds: float | None = None  # stop training (then evaluate) after this wall time


@dataclass(frozen=True)
class RunConfig:
    name: str
    task: MQARTask | SetDisjointnessTask
    model: ModelSpec
    variant: Variant = Variant()
    train: TrainConfig = TrainConfig()
    data_seed: int = 0
    group: str = ""  # free-form tag (e.g. the sweep axis) copied into the results

    @property
    def label(self) -> str:
        """Model + variant, as plotted: 'Based', 'Based + JRT-Prompt x2', 'JRT-RNN', ..."""
        name = self.model.display
        if self.variant.num_passes > 1:
            name += f" + JRT-Prompt x{self.variant.num_passes}"
        if self.variant.prefix and self.model.kind != "jrt":
            name += " (prefix)"
        return name

    def validate(self) -> None:
        if self.model.kind == "jrt" and not self.variant.prefix:
            raise ValueError(f"{self.name}: a JRT-RNN run needs Variant(prefix=True) (its non-causal prefix)")
        if self.variant.prefix and self.model.kind != "jrt":
            raise ValueError(f"{self.name}: only JRT-RNN models read a non-causal prefix")


def resolve_device(device: str | None = None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ----------------------------------------------------------------------------------------------
# device-resident data
# ----------------------------------------------------------------------------------------------
@dataclass
class _DeviceSegment:
    inputs: torch.Tensor  # [N, T] int32 (converted to long per batch)
    labels: torch.Tensor  # [N, T] int32
    enc_length: int
    meta: dict


def _to_device(data: SynthData, device: torch.device) -> list[_DeviceSegment]:
    return [
        _DeviceSegment(torch.from_numpy(s.inputs.astype(np.int32)).to(device),
                       torch.from_numpy(s.labels.astype(np.int32)).to(device), s.enc_length, s.meta)
        for s in data.segments
    ]


def _batches(segments: list[_DeviceSegment], batch_size: int, gen: torch.Generator):
    """Endless epochs of per-segment batches (same lengths in a batch), in shuffled order."""
    while True:
        order = []
        for si, seg in enumerate(segments):
            n = seg.inputs.shape[0]
            perm = torch.randperm(n, generator=gen)
            bs = min(batch_size, n)
            for j in range(0, n - bs + 1, bs):
                order.append((si, perm[j:j + bs]))
        for k in torch.randperm(len(order), generator=gen).tolist():
            yield order[k]


def _autocast(device: torch.device, bf16: bool):
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def _prefix_kwargs(enc_length: int, is_jrt: bool) -> dict:
    """The non-causal prefix of a JRT-RNN batch, passed explicitly (a causal run has none)."""
    return {"enc_length": max(1, int(enc_length))} if is_jrt else {}


def _forward_logits(model, inputs: torch.Tensor, enc_length: int, is_jrt: bool) -> torch.Tensor:
    return model(input_ids=inputs.long(), **_prefix_kwargs(enc_length, is_jrt)).logits


def _answer_logits(model, inputs, labels, enc_length, is_jrt):
    """Logits [M, V] and targets [M] at the answer positions only.

    The LM head runs on the answer positions only (the backbone's final hidden states, selected):
    the [B, T, V] logits of a long sequence would dominate memory and time for nothing.
    """
    mask = labels != IGNORE_INDEX
    prefix = getattr(model, "base_model_prefix", "")
    backbone = getattr(model, prefix, None) if prefix else None
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if backbone is not None and head is not None:
        out = backbone(input_ids=inputs.long(), **_prefix_kwargs(enc_length, is_jrt))
        hidden = out if torch.is_tensor(out) else out[0]  # [B, T, d], final norm applied
        return head(hidden[mask]).float(), labels[mask].long()
    logits = _forward_logits(model, inputs, enc_length, is_jrt)
    return logits[mask].float(), labels[mask].long()


@torch.no_grad()
def evaluate(model, segments: list[_DeviceSegment], is_jrt: bool, device: torch.device,
             batch_size: int = 256, bf16: bool = True) -> dict:
    """Token accuracy at answer positions: overall and per slice."""
    was_training = model.training
    model.eval()
    slices, correct_all, total_all = {}, 0, 0
    for seg in segments:
        correct = total = 0
        n = seg.inputs.shape[0]
        bs = max(1, min(batch_size, n))
        for j in range(0, n, bs):
            x, y = seg.inputs[j:j + bs], seg.labels[j:j + bs]
            with _autocast(device, bf16):
                logits, target = _answer_logits(model, x, y, seg.enc_length, is_jrt)
            correct += int((logits.argmax(-1) == target).sum())
            total += int(target.numel())
        key = slice_key(seg.meta)
        slices[key] = {"accuracy": correct / max(1, total), "n": total, "meta": dict(seg.meta)}
        correct_all += correct
        total_all += total
    model.train(was_training)
    return {"accuracy": correct_all / max(1, total_all), "slices": slices}


def run(cfg: RunConfig, device: str | torch.device | None = None, cache_dir=None, progress: bool = True,
        log=None) -> dict:
    """Train and evaluate one config; returns a JSON-serialisable result dict."""
    cfg.validate()
    device = resolve_device(device) if not isinstance(device, torch.device) else device
    tc = cfg.train
    t0 = time.time()
    train = load_data(cfg.task, cfg.variant, "train", cfg.data_seed, cache_dir)
    test = load_data(cfg.task, cfg.variant, "test", cfg.data_seed, cache_dir)
    t_data = time.time() - t0

    torch.manual_seed(tc.seed)
    model = build_model(cfg.model, cfg.task.vocab_size, max(train.max_seq_len, test.max_seq_len)).to(device)
    is_jrt = cfg.model.kind == "jrt"
    states = state_bytes(model, cfg.model, test.max_seq_len)
    train_segs, test_segs = _to_device(train, device), _to_device(test, device)

    opt = build_optimizer(model, tc.lr, tc.weight_decay, tc.betas, fused=device.type == "cuda")
    sched = build_schedule(opt, max(1, int(tc.warmup_frac * tc.max_steps)), tc.max_steps, tc.min_lr_frac)
    gen = torch.Generator().manual_seed(tc.seed)
    batches = _batches(train_segs, tc.batch_size, gen)

    history, best, step, stopped = [], {"accuracy": -1.0}, 0, "max_steps"
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=tc.max_steps, desc=cfg.name, leave=False, dynamic_ncols=True)
    model.train()
    t_train = time.time()
    running = None
    while step < tc.max_steps:
        si, idx = next(batches)
        seg = train_segs[si]
        idx = idx.to(device)
        x, y = seg.inputs[idx], seg.labels[idx]
        with _autocast(device, tc.bf16):
            logits, target = _answer_logits(model, x, y, seg.enc_length, is_jrt)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        sched.step()
        step += 1
        if step % 10 == 0 or step == 1:
            lv = float(loss.detach())
            running = lv if running is None else 0.9 * running + 0.1 * lv
        if bar is not None:
            bar.update(1)
        timed_out = tc.max_seconds is not None and time.time() - t_train > tc.max_seconds
        if step % tc.eval_every == 0 or step == tc.max_steps or timed_out:
            ev = evaluate(model, test_segs, is_jrt, device, tc.eval_batch_size, tc.bf16)
            history.append({"step": step, "loss": running, "accuracy": ev["accuracy"],
                            "time_s": round(time.time() - t_train, 2)})
            if ev["accuracy"] > best["accuracy"]:
                best = {**ev, "step": step}
            if bar is not None:
                bar.set_postfix(loss=f"{running:.3f}", acc=f"{ev['accuracy']:.3f}")
            if log is not None:
                log(f"{cfg.name} step {step} loss {running:.3f} acc {ev['accuracy']:.3f}")
            if ev["accuracy"] >= tc.early_stop_acc:
                stopped = "early_stop"
                break
            if timed_out:
                stopped = "max_seconds"
                break
    if bar is not None:
        bar.close()
    if stopped == "max_seconds":
        # the cosine schedule is laid out over max_steps: stopping on time leaves the lr high
        msg = (f"{cfg.name}: stopped by max_seconds={tc.max_seconds:g} at step {step} of max_steps={tc.max_steps}; "
               f"the lr schedule did not finish (lower steps or raise max_seconds)")
        (log or (lambda m: print(m, file=sys.stderr)))(msg)
    final = history[-1] if history else {}
    return {
        "name": cfg.name,
        "group": cfg.group,
        "label": cfg.label,
        "task_kind": cfg.task.kind,
        "task": dataclasses.asdict(cfg.task),
        "variant": dataclasses.asdict(cfg.variant),
        "model": dataclasses.asdict(cfg.model),
        "train": dataclasses.asdict(cfg.train),
        "data_seed": cfg.data_seed,
        "state_bytes": int(states["total"]),
        "state_bytes_detail": states,
        "num_params": num_parameters(model),
        "steps": step,
        "stopped": stopped,
        "accuracy": best["accuracy"],  # best test accuracy seen during training (zoology reports max)
        "best_step": best.get("step"),
        "final_accuracy": final.get("accuracy"),
        "slices": best.get("slices", {}),
        "history": history,
        "train_seq_len": train.max_seq_len,
        "test_seq_len": test.max_seq_len,
        "time_s": round(time.time() - t0, 2),
        "data_time_s": round(t_data, 2),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "ops_backend": cfg.model.ops_backend or "auto",
        "torch": torch.__version__,
    }


# ----------------------------------------------------------------------------------------------
# sweeps
# ----------------------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)


def run_sweep(runs: Sequence[RunConfig], out_dir: str | os.PathLike, device=None, cache_dir=None,
              max_minutes: float | None = None, shard: tuple[int, int] = (0, 1), resume: bool = True,
              progress: bool = True) -> list[dict]:
    """Run configs in order (shard i of n takes every n-th), one JSON per run under out_dir/runs/.

    With `max_minutes`, runs that would start after the budget are recorded as skipped (order the
    list so every model is covered early). Finished runs are kept and not rerun (`resume`).
    """
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    i, n = shard
    mine = list(runs)[i::n]
    t0 = time.time()
    results, skipped = [], []
    from tqdm.auto import tqdm

    bar = tqdm(mine, desc=f"sweep {out.name} [{i}/{n}]", disable=not progress, dynamic_ncols=True)
    for cfg in bar:
        path = out / "runs" / f"{_safe(cfg.name)}.json"
        if resume and path.exists():
            results.append(json.loads(path.read_text()))
            continue
        if max_minutes is not None and time.time() - t0 > 60 * max_minutes:
            skipped.append(cfg.name)
            continue
        try:
            res = run(cfg, device, cache_dir, progress=False)
        except Exception as exc:  # one bad config must not lose the sweep
            res = {"name": cfg.name, "label": cfg.label, "error": f"{type(exc).__name__}: {exc}",
                   "model": dataclasses.asdict(cfg.model), "variant": dataclasses.asdict(cfg.variant)}
            if device.type == "cuda" and cfg.model.kind in ("based", "jrt") and cfg.model.ops_backend is None:
                # a Triton kernel that does not support this shape: retry on the chunked torch path
                torch_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, ops_backend="torch"))
                try:
                    res = run(torch_cfg, device, cache_dir, progress=False)
                    res["ops_backend"] = f"torch (triton failed: {type(exc).__name__}: {str(exc)[:300]})"
                except Exception as exc2:
                    res["error"] += f"; torch path: {type(exc2).__name__}: {exc2}"
        path.write_text(json.dumps(res, indent=1))
        results.append(res)
        if "accuracy" in res:
            bar.write(f"{cfg.name:60s} acc {res['accuracy']:.3f}  state {res['state_bytes']:>10d} B  "
                      f"steps {res['steps']:5d}  {res['time_s']:.1f}s")
        else:
            bar.write(f"{cfg.name}: {res['error']}")
    meta = {"shard": list(shard), "skipped": skipped, "elapsed_s": round(time.time() - t0, 1),
            "device": str(device), "host": platform.node(), "torch": torch.__version__}
    (out / f"sweep_meta_{i}of{n}.json").write_text(json.dumps(meta, indent=1))
    return results


def load_results(results_dir: str | os.PathLike) -> list[dict]:
    root = Path(results_dir)
    files = sorted(root.rglob("runs/*.json")) or sorted(root.rglob("*.json"))
    out = []
    for f in files:
        try:
            r = json.loads(f.read_text())
        except Exception:
            continue
        if isinstance(r, dict) and "accuracy" in r and "state_bytes" in r:
            out.append(r)
        elif isinstance(r, list):
            out.extend(x for x in r if isinstance(x, dict) and "accuracy" in x)
    return out
