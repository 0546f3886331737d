"""`jrt train`: one trainer for JRT/Based presets and HF baselines; single process, DDP or FSDP2.

Launch: ``jrt train ...`` (one process) or ``torchrun --nproc_per_node N -m jrt.train.cli train ...``
(DDP by default, ``--dist fsdp`` for FSDP2 ``fully_shard``). NCCL on CUDA, gloo on CPU.

Determinism: the data position is one integer (global samples consumed); sample k's tokens and MLM
mask depend only on (seed, k). The loss of a step is normalised by the target counts of the whole
global batch, so the split into processes / micro-batches does not change the gradient, and a run
resumed from a checkpoint repeats the uninterrupted run's losses.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from jrt.baselines import build_by_name, decode_state_bytes

from .checkpoint import clean_stale_tmp, latest_valid_checkpoint, load_checkpoint, save_checkpoint, verify_checkpoint
from .data import PackedSequences, TokenSplit
from .objective import compute_loss, get_logits, jrt_counts, mlm_mask_for_samples, ntp_counts


@dataclass
class TrainConfig:
    data: str
    out: str
    model: str = "hf-llama:tiny"
    objective: str = "auto"          # auto: jrt for JRT presets (PLA layers), ntp otherwise
    seq_len: int = 2048
    enc_length: int | None = None     # prefix length P for the JRT objective (default: the preset's)
    micro_batch_size: int = 8
    grad_accum: int = 1
    max_steps: int | None = None
    max_tokens: int | None = None     # alternative to max_steps: tokens of the whole run
    lr: float = 8e-4
    min_lr: float = 8e-5
    warmup_steps: int | None = None
    warmup_frac: float = 0.01
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)
    eps: float = 1e-8
    grad_clip: float = 1.0
    seed: int = 1111
    dtype: str = "auto"               # auto: bf16 autocast on CUDA, fp32 on CPU
    compile: bool = False
    dist: str = "ddp"                 # ddp | fsdp (only used under torchrun with WORLD_SIZE > 1)
    log_every: int = 10
    eval_every: int | None = None
    eval_tokens: int = 262_144
    eval_splits: tuple = ("val", "heldout", "wikitext2")
    eval_prefix: int | None = None    # NTP eval on positions >= this (default: P for JRT, seq_len//2)
    save_every: int | None = None
    keep_last: int = 2
    resume: str | None = None         # None: fresh (refuses a non-empty run dir), "auto", or a path
    max_time: float | None = None     # seconds; stop when exceeded (checkpointed if save_every)
    tensorboard: bool = True
    progress: bool = True
    save_final_model: bool = True
    device: str = "auto"
    model_overrides: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------- distributed

class Dist:
    def __init__(self, kind: str, device_pref: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and device_pref != "cpu"
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        self.kind = kind if self.world > 1 else "none"
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def gather_objects(self, obj) -> list:
        if self.world == 1:
            return [obj]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    def barrier(self):
        if self.world > 1:
            torch.distributed.barrier()

    def close(self):
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _rng_state() -> dict:
    st = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict) -> None:
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


# --------------------------------------------------------------------------------- optimisation

def param_groups(model, weight_decay: float):
    """Decay matrices (linear and embedding weights); no decay on norms, biases and other 1-D params."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lname = name.lower()
        if p.ndim < 2 or "norm" in lname or lname.endswith(".bias"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_multiplier(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup from 1/warmup to 1, then cosine to ``min_ratio`` at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class _Schedule:
    """Picklable LR lambda (so LambdaLR.state_dict keeps its settings)."""

    def __init__(self, warmup: int, total: int, min_ratio: float):
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        return lr_multiplier(step, self.warmup, self.total, self.min_ratio)


# ------------------------------------------------------------------------------------- training

def _unwrap(model):
    m = getattr(model, "_orig_mod", model)
    return getattr(m, "module", m)


def _model_state(model, dist: Dist) -> dict:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    if dist.kind == "fsdp":
        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}


def _optim_state(model, optim, dist: Dist) -> dict:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    if dist.kind == "fsdp":
        return get_optimizer_state_dict(model, optim,
                                        options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return optim.state_dict()


def _load_states(model, optim, ckpt: dict, dist: Dist) -> None:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict, set_optimizer_state_dict

    if dist.kind == "fsdp":
        opts = StateDictOptions(full_state_dict=True)
        set_model_state_dict(model, ckpt["model"], options=opts)
        set_optimizer_state_dict(model, optim, ckpt["optimizer"], options=opts)
        return
    missing, unexpected = _unwrap(model).load_state_dict(ckpt["model"], strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"checkpoint weights do not match the model: missing {missing}, "
                           f"unexpected {unexpected}")
    optim.load_state_dict(ckpt["optimizer"])


class JSONLLogger:
    def __init__(self, out: Path, enabled: bool, tensorboard: bool):
        self.enabled = enabled
        self.path = out / "log.jsonl"
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tb"))
            except Exception as e:  # noqa: BLE001 - tensorboard is optional
                print(f"[train] tensorboard disabled: {e}", file=sys.stderr)

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
        if self.tb is not None:
            step = record.get("step", 0)
            for k, v in record.items():
                if isinstance(v, (int, float)) and k != "step":
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{k}", v, step)
                elif isinstance(v, dict):
                    for k2, v2 in v.items():
                        if isinstance(v2, (int, float)):
                            self.tb.add_scalar(f"{record.get('kind', 'train')}/{k}/{k2}", v2, step)

    def close(self):
        if self.tb is not None:
            self.tb.close()


@torch.no_grad()
def evaluate(model, split: TokenSplit, seq_len: int, eval_prefix: int, max_tokens: int,
             micro_batch_size: int, dist: Dist, autocast, report_full: bool) -> dict:
    """NTP loss/perplexity on contiguous sequences of ``split``, on positions >= eval_prefix
    (comparable across JRT and causal models) and, for causal models, on all positions."""
    n_chunks = max(1, min((len(split.tokens) - 1) // seq_len, max_tokens // seq_len))
    if (len(split.tokens) - 1) // seq_len < 1:
        return {"skipped": f"fewer than {seq_len + 1} tokens"}
    mine = list(range(dist.rank, n_chunks, dist.world))
    n_batches = math.ceil(math.ceil(n_chunks / dist.world) / micro_batch_size)
    was_training = model.training
    model.eval()
    sums = [0.0, 0.0, 0.0, 0.0]  # suffix loss sum, suffix count, full loss sum, full count
    for b in range(n_batches):
        idx = mine[b * micro_batch_size:(b + 1) * micro_batch_size]
        weight = 1.0
        if not idx:  # keep collectives aligned (FSDP): run a dummy batch with zero weight
            idx, weight = [0], 0.0
        toks = torch.from_numpy(np.stack([np.asarray(split.tokens[c * seq_len:c * seq_len + seq_len + 1],
                                                     dtype=np.int64) for c in idx])).to(dist.device)
        with autocast():
            logits = get_logits(model, toks[:, :-1])
        lp = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), toks[:, 1:],
                                               reduction="none")  # [B, L]
        sums[0] += weight * float(lp[:, eval_prefix:].sum())
        sums[1] += weight * lp[:, eval_prefix:].numel()
        sums[2] += weight * float(lp.sum())
        sums[3] += weight * lp.numel()
    if was_training:
        model.train()
    s = dist.all_reduce_sum(sums)
    loss = s[0] / max(s[1], 1)
    res = {"loss": loss, "ppl": math.exp(min(loss, 50)), "tokens": int(s[1]), "from_position": eval_prefix}
    if report_full:
        lf = s[2] / max(s[3], 1)
        res.update({"loss_all_positions": lf, "ppl_all_positions": math.exp(min(lf, 50))})
    return res


def _step_counts(objective: str, sample_ids, seq_len: int, P: int, seed: int):
    if objective == "jrt":
        mask = mlm_mask_for_samples(sample_ids, P, seq_len, seed)
        return mask, jrt_counts(seq_len, P, len(sample_ids), mask)
    return None, ntp_counts(seq_len, len(sample_ids))


def train(cfg: TrainConfig) -> dict:
    dist = Dist(cfg.dist, cfg.device)
    try:
        return _train(cfg, dist)
    finally:
        dist.close()


def _train(cfg: TrainConfig, dist: Dist) -> dict:
    from tqdm.auto import tqdm

    out = Path(cfg.out)
    ckpt_root = out / "checkpoints"
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if dist.main else (lambda *a: None)

    # ---- resume decision (before writing anything)
    resume_path = None
    if cfg.resume:
        if cfg.resume == "auto":
            if dist.main:
                clean_stale_tmp(ckpt_root)
            dist.barrier()
            resume_path = latest_valid_checkpoint(ckpt_root, log=say)
            if resume_path is None:
                say(f"[train] no valid checkpoint under {ckpt_root}: starting fresh")
        else:
            resume_path = Path(cfg.resume)
            verify_checkpoint(resume_path)  # CheckpointError with the reason if not loadable
    elif (out / "log.jsonl").exists() or ckpt_root.exists():
        raise SystemExit(f"[train] {out} already has a run: pass --resume auto to continue it "
                         "or choose another --out")
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)

    # ---- seeds, data, model
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    train_split = TokenSplit(cfg.data, "train")
    data = PackedSequences(train_split, cfg.seq_len, seed=cfg.seed)
    model, info = build_by_name(cfg.model, train_split.vocab_size, cfg.seq_len, cfg.enc_length,
                              cfg.model_overrides)
    objective = info["default_objective"] if cfg.objective == "auto" else cfg.objective
    P = cfg.enc_length or info.get("enc_length") or cfg.seq_len // 2
    P = min(P, cfg.seq_len)
    mask_id = info.get("mask_token_id")
    if objective == "jrt" and mask_id is None:
        mask_id = int(model.config.vocab_size) - 1  # a padding slot beyond the tokenizer
    eval_prefix = cfg.eval_prefix if cfg.eval_prefix is not None else P
    say(f"[train] model {cfg.model}: {info['params']:,} parameters ({info['params'] / 1e6:.1f}M), "
        f"family {info['family']}, objective {objective}" + (f", prefix P={P}, mask id {mask_id}"
                                                             if objective == "jrt" else ""))
    model.to(dist.device)

    if dist.kind == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[dist.local_rank] if dist.device.type == "cuda" else None)
    elif dist.kind == "fsdp":
        from torch.distributed.fsdp import fully_shard

        blocks = None
        for attr in ("model.layers", "backbone.layers", "model.blocks", "layers"):
            obj = model
            try:
                for a in attr.split("."):
                    obj = getattr(obj, a)
                blocks = obj
                break
            except AttributeError:
                continue
        for blk in (blocks or []):
            fully_shard(blk)
        fully_shard(model)
    optim = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas),
                              eps=cfg.eps, fused=dist.device.type == "cuda")

    global_batch = cfg.micro_batch_size * cfg.grad_accum * dist.world
    tokens_per_step = global_batch * cfg.seq_len
    if cfg.max_steps is not None:
        total_steps = int(cfg.max_steps)
    elif cfg.max_tokens is not None:
        total_steps = max(1, int(cfg.max_tokens) // tokens_per_step)
    else:
        total_steps = max(1, data.n_chunks // global_batch)  # one epoch
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else max(1, int(cfg.warmup_frac * total_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(optim, _Schedule(warmup, total_steps, cfg.min_lr / cfg.lr))

    step, samples, elapsed_before = 0, 0, 0.0
    if resume_path is not None:
        ck = load_checkpoint(resume_path, rank=dist.rank)
        _load_states(model, optim, ck, dist)
        sched.load_state_dict(ck["scheduler"])
        tr = ck["trainer"]
        if tr.get("global_batch") != global_batch or tr.get("seq_len") != cfg.seq_len:
            raise SystemExit(f"[train] checkpoint {resume_path} was written with global batch "
                             f"{tr.get('global_batch')} x {tr.get('seq_len')}; this run has "
                             f"{global_batch} x {cfg.seq_len}")
        step, samples, elapsed_before = int(tr["step"]), int(tr["samples"]), float(tr.get("elapsed_s", 0))
        if ck["rng"] is not None:
            _set_rng_state(ck["rng"])
        say(f"[train] resumed from {resume_path} at step {step} (samples {samples})")

    if cfg.compile:
        model = torch.compile(model)
    use_bf16 = (cfg.dtype == "bf16") or (cfg.dtype == "auto" and dist.device.type == "cuda")
    if dist.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    def autocast():
        if use_bf16:
            return torch.autocast(device_type=dist.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    logger = JSONLLogger(out, dist.main, cfg.tensorboard)
    if dist.main and step == 0:
        (out / "run_config.json").write_text(json.dumps(
            {"config": asdict(cfg), "model_info": {k: v for k, v in info.items() if k != "config"},
             "model_config": info.get("config"), "objective": objective, "prefix": P,
             "world_size": dist.world, "global_batch": global_batch, "tokens_per_step": tokens_per_step,
             "total_steps": total_steps, "data_manifest_hash": train_split.manifest.get("hash")},
            indent=2, default=str) + "\n")
    eval_sets = {}
    for name in cfg.eval_splits:
        try:
            eval_sets[name] = TokenSplit(cfg.data, name)
        except Exception:  # noqa: BLE001 - a split the data dir does not have is skipped
            pass

    def run_eval():
        res = {}
        for name, sp in eval_sets.items():
            res[name] = evaluate(model, sp, cfg.seq_len, eval_prefix, cfg.eval_tokens, cfg.micro_batch_size,
                                 dist, autocast, report_full=(objective != "jrt"))
        return res

    def checkpoint():
        ms = _model_state(model, dist)
        os_ = _optim_state(model, optim, dist)
        rngs = dist.gather_objects(_rng_state())
        if dist.main:
            save_checkpoint(ckpt_root, step, ms, os_, sched.state_dict(), rngs,
                            {"step": step, "samples": samples, "tokens": samples * cfg.seq_len,
                             "global_batch": global_batch, "seq_len": cfg.seq_len, "seed": cfg.seed,
                             "model": cfg.model, "objective": objective,
                             "elapsed_s": elapsed_before + (time.time() - t_start),
                             "data_manifest_hash": train_split.manifest.get("hash")},
                            keep_last=cfg.keep_last)
        dist.barrier()

    model.train()
    t_start = time.time()
    t_log, tok_log = time.time(), 0
    tok_total_run = 0
    bar = tqdm(total=total_steps, initial=step, desc=f"train {cfg.model}", unit="step",
               disable=not (dist.main and cfg.progress), dynamic_ncols=True)
    last = {}
    stopped_by_time = False
    while step < total_steps:
        ids = list(range(samples, samples + global_batch))
        step_mask, counts = _step_counts(objective, ids, cfg.seq_len, P, cfg.seed)
        ntp_sum = mlm_sum = 0.0
        for m in range(cfg.grad_accum):
            lo = (m * dist.world + dist.rank) * cfg.micro_batch_size
            rows = list(range(lo, lo + cfg.micro_batch_size))
            toks = torch.from_numpy(data.batch([ids[r] for r in rows])).to(dist.device, non_blocking=True)
            sync_ctx = contextlib.nullcontext()
            last_micro = m == cfg.grad_accum - 1
            if dist.kind == "ddp" and not last_micro:
                sync_ctx = model.no_sync()
            elif dist.kind == "fsdp":
                model.set_requires_gradient_sync(last_micro)
            with sync_ctx:
                with autocast():
                    res = compute_loss(model, toks, objective, enc_length=P, mask_token_id=mask_id,
                                       mlm_mask=step_mask[rows] if step_mask is not None else None,
                                       normalizer=counts)
                # gradients are averaged over ranks by DDP/FSDP; the loss is already normalised by
                # the global count, so scale back up by the world size
                (res["loss"] * dist.world).backward()
            ntp_sum = ntp_sum + res["ntp_sum"]
            if res["mlm_sum"] is not None:
                mlm_sum = mlm_sum + res["mlm_sum"]
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip if cfg.grad_clip else float("inf"))
        if hasattr(gn, "full_tensor"):
            gn = gn.full_tensor()
        lr_now = sched.get_last_lr()[0]
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        ntp_sum, mlm_sum = dist.all_reduce_sum([float(ntp_sum), float(mlm_sum)])
        step += 1
        samples += global_batch
        tok_log += tokens_per_step
        tok_total_run += tokens_per_step
        ntp = ntp_sum / max(counts.ntp, 1)
        rec = {"kind": "train", "step": step, "ntp": ntp, "lr": lr_now, "grad_norm": float(gn),
               "tokens": samples * cfg.seq_len}
        if objective == "jrt":
            mlm = mlm_sum / max(counts.mlm, 1)
            rec.update({"mlm": mlm, "loss": ntp + 0.25 * mlm, "mlm_fraction": counts.mlm / (global_batch * P)})
        else:
            rec["loss"] = ntp
        if not math.isfinite(rec["loss"]):
            raise FloatingPointError(f"non-finite loss at step {step}: {rec}")
        bar.update(1)
        if step % cfg.log_every == 0 or step == total_steps or step == 1:
            if dist.device.type == "cuda":
                torch.cuda.synchronize()
            now = time.time()
            rec["tok_per_s"] = tok_log / max(now - t_log, 1e-9)
            rec["elapsed_s"] = elapsed_before + now - t_start
            if dist.device.type == "cuda":  # this rank's peak, for multi-GPU memory comparisons
                rec["peak_mem_gib"] = torch.cuda.max_memory_allocated(dist.device) / 2**30
            t_log, tok_log = now, 0
            logger.log(rec)
            bar.set_postfix(loss=f"{rec['loss']:.4f}", lr=f"{lr_now:.2e}", tps=f"{rec['tok_per_s']:.0f}")
        last = rec
        if cfg.eval_every and step % cfg.eval_every == 0 and step != total_steps:
            ev = run_eval()
            logger.log({"kind": "eval", "step": step, "tokens": samples * cfg.seq_len, **ev})
        over_time = cfg.max_time is not None and elapsed_before + time.time() - t_start > cfg.max_time
        if cfg.max_time is not None and dist.world > 1:  # every rank must stop at the same step
            over_time = dist.all_reduce_sum([float(over_time)])[0] > 0
        if over_time:
            stopped_by_time = True
            say(f"[train] --max-time {cfg.max_time}s reached at step {step}")
            if cfg.save_every:
                checkpoint()
            break
        if cfg.save_every and step % cfg.save_every == 0:
            checkpoint()
    bar.close()
    if dist.device.type == "cuda":
        torch.cuda.synchronize()
    train_seconds = time.time() - t_start
    if not stopped_by_time and cfg.save_every and step % cfg.save_every != 0:
        checkpoint()
    ev = run_eval()
    logger.log({"kind": "eval", "step": step, "tokens": samples * cfg.seq_len, **ev})
    summary = {
        "model": cfg.model, "family": info["family"], "params": info["params"], "objective": objective,
        "prefix": P if objective == "jrt" else None, "steps": step, "tokens": samples * cfg.seq_len,
        "seq_len": cfg.seq_len, "global_batch": global_batch, "world_size": dist.world,
        "dist": dist.kind, "device": str(dist.device),
        "device_name": torch.cuda.get_device_name(dist.device) if dist.device.type == "cuda" else "cpu",
        "bf16": use_bf16, "compile": cfg.compile,
        "train_seconds_this_process": train_seconds,
        "tokens_per_s": tok_total_run / max(train_seconds, 1e-9),
        "final_train": last, "eval": ev,
        "peak_mem_gib": (torch.cuda.max_memory_allocated(dist.device) / 2**30
                         if dist.device.type == "cuda" else None),
        "recurrent_state_bytes": decode_state_bytes(model, cfg.seq_len, torch.bfloat16 if use_bf16 else torch.float32),
        "data_manifest_hash": train_split.manifest.get("hash"), "stopped_by_time": stopped_by_time,
    }
    if cfg.save_final_model:
        ms = _model_state(model, dist)
        if dist.main:
            base = _unwrap(model)
            try:
                base.save_pretrained(str(out / "final_model"), state_dict=ms)
            except Exception as e:  # noqa: BLE001
                say(f"[train] save_pretrained failed ({e}); writing safetensors only")
                from safetensors.torch import save_file

                (out / "final_model").mkdir(exist_ok=True)
                save_file({k: v.contiguous().clone() for k, v in ms.items()},
                          str(out / "final_model" / "model.safetensors"))
    if dist.main:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        say(f"[train] done: {step} steps, {samples * cfg.seq_len:,} tokens, "
            f"{summary['tokens_per_s']:.0f} tok/s; eval " + json.dumps(ev))
    logger.close()
    return summary
