"""`jrt train`: one trainer for JRT/Based presets and the HF baselines; one process, DDP or FSDP2.

Launch: ``jrt train ...`` (one process) or ``torchrun --nproc_per_node N -m jrt.train.cli train ...``
(DDP by default, ``--dist fsdp`` for FSDP2). NCCL on CUDA, gloo on CPU.

    train(cfg)
      open_run       lock the run folder; fresh, or resume from a verified checkpoint of the same run
      build          data, model (wrapped for DDP/FSDP2), optimiser and schedule
      train_step     one optimiser step over the global batch (micro-batches x processes)
      log / evaluate / save_checkpoint as the step counter says
      finish         final evaluation, summary.json, final_model/ with the data's tokenizer

Determinism: the data position is one integer (global samples consumed); sample k's tokens and MLM
mask depend only on (seed, k). The loss of a step is normalised by the target counts of the whole
global batch, so the split into processes / micro-batches does not change the gradient, and a run
resumed from a checkpoint repeats the uninterrupted run's losses.

About 500 lines: the run's life cycle above reads top to bottom in one file; the parts with a job
of their own (optimiser, distribution, run folder, checkpoints, evaluation, logging, probe) are
separate modules.
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from jrt.baselines import build_by_name, decode_state_bytes

from .checkpoint import clean_stale_tmp, latest_valid_checkpoint, load_checkpoint, save_checkpoint, verify_checkpoint
from .data import PackedSequences, TokenSplit
from .distributed import (
    Dist,
    full_model_state,
    full_optimizer_state,
    load_full_states,
    rng_state,
    seed_everything,
    set_rng_state,
    unwrap,
    wrap_model,
)
from .evaluate import evaluate_perplexity
from .logger import JSONLLogger
from .objective import compute_loss, jrt_counts, mlm_mask_for_samples, ntp_counts
from .optim import build_optimizer, build_schedule
from .probe import score_probe
from .recall_mix import MixedSequences
from .run_dir import RunDirError, RunDirLock, check_resume, copy_tokenizer, has_run, truncate_log


@dataclass
class TrainConfig:
    data: str
    out: str
    model: str = "hf-llama:tiny"
    objective: str = "auto"          # auto: jrt for JRT presets (PLA layers), ntp otherwise
    seq_len: int = 2048
    enc_length: int | None = None     # prefix length for the JRT objective (default: the preset's)
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
    eval_from: int | None = None      # perplexity on positions >= this (default: the prefix length, for
                                      # JRT models the first causal position; seq_len // 2 for others)
    save_every: int | None = None
    keep_last: int = 2
    resume: str | None = None         # None: fresh (refuses a used run dir), "auto", or a checkpoint path
    max_time: float | None = None     # seconds; stop when exceeded (checkpointed if save_every)
    tensorboard: bool = True
    progress: bool = True
    save_final_model: bool = True
    device: str = "auto"
    model_overrides: dict = field(default_factory=dict)
    recall_rows: float | None = None  # fraction of rows carrying a recall example (data with a recall
                                      # split; default 0.5 there), the prompt ending at the prefix length
    recall_probe: str | None = None   # JSON from `jrt.train.probe.build_probe`: answer accuracy at each eval

    def validate(self) -> None:
        """ValueError naming the setting and its valid range, before anything is built or written."""
        positive = {"seq_len": 2, "micro_batch_size": 1, "grad_accum": 1, "log_every": 1, "eval_tokens": 1,
                    "keep_last": 1}
        for name, low in positive.items():
            if getattr(self, name) < low:
                raise ValueError(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(self, name)}")
        for name in ("max_steps", "max_tokens", "eval_every", "save_every", "enc_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1 (or unset), got {value}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"--lr must be a positive number, got {self.lr}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"--min-lr must be in [0, lr={self.lr}], got {self.min_lr}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"--warmup-steps must be >= 0, got {self.warmup_steps}")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"--warmup-frac must be in [0, 1), got {self.warmup_frac}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("--weight-decay and --grad-clip must be >= 0")
        if self.max_time is not None and self.max_time < 0:
            raise ValueError(f"--max-time must be >= 0, got {self.max_time}")
        if self.recall_rows is not None and not 0 <= self.recall_rows <= 1:
            raise ValueError(f"--recall-rows must be in [0, 1], got {self.recall_rows}")
        if self.recall_probe is not None and not Path(self.recall_probe).is_file():
            raise ValueError(f"--recall-probe: no such file {self.recall_probe}")
        if self.objective not in ("auto", "jrt", "ntp"):
            raise ValueError(f"--objective must be auto, jrt or ntp, got {self.objective!r}")
        if self.resume not in (None, "auto") and not Path(self.resume).is_dir():
            raise ValueError(f"--resume must be 'auto' or a checkpoint folder; {self.resume!r} is not a folder")


@dataclass
class Run:
    """Everything a training loop step touches."""
    cfg: TrainConfig
    dist: Dist
    out: Path
    model: torch.nn.Module
    info: dict
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    data: PackedSequences
    train_split: TokenSplit
    objective: str
    enc_length: int
    mask_id: int | None
    global_batch: int
    total_steps: int
    warmup: int
    use_bf16: bool
    step: int = 0
    samples: int = 0
    elapsed_before: float = 0.0

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch * self.cfg.seq_len

    def autocast(self):
        if self.use_bf16:
            return torch.autocast(device_type=self.dist.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def identity(self) -> dict:
        """What makes a checkpoint belong to this run (run_dir.RESUME_KEYS)."""
        return {"model": self.cfg.model, "objective": self.objective, "prefix": self.enc_length,
                "recall_rows": getattr(self.data, "recall_rows", 0.0),
                "seed": self.cfg.seed, "data_manifest_hash": self.train_split.manifest.get("hash"),
                "global_batch": self.global_batch, "seq_len": self.cfg.seq_len, "total_steps": self.total_steps,
                "lr": self.cfg.lr, "min_lr": self.cfg.min_lr, "warmup": self.warmup}


def train(cfg: TrainConfig) -> dict:
    cfg.validate()
    dist = Dist(cfg.dist, cfg.device)
    lock = RunDirLock(Path(cfg.out))
    run = None
    try:
        _claim_run_dir(cfg, dist, lock)
        resume_path = _resume_decision(cfg, dist)
        run = build(cfg, dist)
        if resume_path is not None:
            _resume(run, resume_path)
        return _loop(run)
    finally:
        # the DDP wrapper must go before its process group: freed after destroy_process_group, its
        # reducer waits forever on gloo
        del run
        gc.collect()
        lock.release()
        dist.close()


def _say(dist: Dist):
    return (lambda *a: print(*a, file=sys.stderr, flush=True)) if dist.main else (lambda *a: None)


def _claim_run_dir(cfg: TrainConfig, dist: Dist, lock: RunDirLock) -> None:
    """Rank 0 locks the run folder (and refuses a fresh run in a used one); every rank learns the outcome."""
    error = None
    if dist.main:
        try:
            lock.acquire()
            if not cfg.resume and has_run(Path(cfg.out)):
                raise RunDirError(f"{cfg.out} already has a run: pass --resume auto to continue it or choose "
                                  "another --out")
        except RunDirError as exc:
            error = str(exc)
    error = dist.broadcast_object(error)
    if error:
        raise RunDirError(error)


def _resume_decision(cfg: TrainConfig, dist: Dist) -> Path | None:
    """The checkpoint to continue from (None: a fresh run)."""
    say = _say(dist)
    ckpt_root = Path(cfg.out) / "checkpoints"
    if not cfg.resume:
        return None
    if cfg.resume != "auto":
        verify_checkpoint(Path(cfg.resume))     # CheckpointError with the reason if not loadable
        return Path(cfg.resume)
    if dist.main:
        clean_stale_tmp(ckpt_root)
    dist.barrier()
    path = latest_valid_checkpoint(ckpt_root, log=say)
    if path is None:
        say(f"[train] no valid checkpoint under {ckpt_root}: starting fresh")
    return path


def build(cfg: TrainConfig, dist: Dist) -> Run:
    """Data, model, optimiser and schedule of a run at step 0."""
    seed_everything(cfg.seed)
    train_split = TokenSplit(cfg.data, "train")
    model, info = build_by_name(cfg.model, train_split.vocab_size, cfg.seq_len, cfg.enc_length, cfg.model_overrides)
    objective = info["default_objective"] if cfg.objective == "auto" else cfg.objective
    enc_length = min(cfg.enc_length or info.get("enc_length") or cfg.seq_len // 2, cfg.seq_len)
    data = _training_rows(cfg, train_split, enc_length, dist)
    mask_id = info.get("mask_token_id")
    if objective == "jrt" and mask_id is None:
        mask_id = int(model.config.vocab_size) - 1  # a padding slot beyond the tokenizer
    _say(dist)(f"[train] model {cfg.model}: {info['params']:,} parameters ({info['params'] / 1e6:.1f}M), "
               f"family {info['family']}, objective {objective}"
               + (f", prefix {enc_length}, mask id {mask_id}" if objective == "jrt" else ""))
    model = wrap_model(model.to(dist.device), dist)
    optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay, cfg.betas, cfg.eps, fused=dist.device.type == "cuda")
    global_batch = cfg.micro_batch_size * cfg.grad_accum * dist.world
    if cfg.max_steps is not None:
        total_steps = int(cfg.max_steps)
    elif cfg.max_tokens is not None:
        total_steps = int(cfg.max_tokens) // (global_batch * cfg.seq_len)
        if total_steps < 1:
            raise ValueError(f"--max-tokens {cfg.max_tokens} is less than one step ({global_batch * cfg.seq_len} "
                             "tokens: micro-batch x grad-accum x processes x seq-len)")
    else:
        total_steps = max(1, data.n_chunks // global_batch)  # one epoch
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else max(1, int(cfg.warmup_frac * total_steps))
    schedule = build_schedule(optimizer, warmup, total_steps, cfg.min_lr / cfg.lr)
    use_bf16 = cfg.dtype == "bf16" or (cfg.dtype == "auto" and dist.device.type == "cuda")
    if dist.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Run(cfg, dist, Path(cfg.out), model, info, optimizer, schedule, data, train_split, objective,
               enc_length, mask_id, global_batch, total_steps, warmup, use_bf16)


def _training_rows(cfg: TrainConfig, train_split: TokenSplit, enc_length: int, dist: Dist) -> PackedSequences:
    """Text rows, with the data's recall examples spliced in (prompt ending at the prefix length) if it has them."""
    has_recall = "recall" in train_split.manifest["splits"]
    rows = cfg.recall_rows if cfg.recall_rows is not None else (0.5 if has_recall else 0.0)
    if rows > 0 and not has_recall:
        raise ValueError(f"--recall-rows {rows}: {cfg.data} has no recall split (prepare it with --recall-fraction)")
    if rows == 0:
        return PackedSequences(train_split, cfg.seq_len, seed=cfg.seed)
    _say(dist)(f"[train] {rows:.0%} of rows carry a recall example, its prompt ending at position {enc_length}")
    return MixedSequences(train_split, TokenSplit(cfg.data, "recall"), cfg.seq_len, enc_length, rows, seed=cfg.seed)


def _resume(run: Run, path: Path) -> None:
    checkpoint = load_checkpoint(path, rank=run.dist.rank)
    state = checkpoint["trainer"]
    check_resume(state, run.identity(), path)
    load_full_states(run.model, run.optimizer, checkpoint, run.dist)
    run.schedule.load_state_dict(checkpoint["scheduler"])
    run.step, run.samples = int(state["step"]), int(state["samples"])
    run.elapsed_before = float(state.get("elapsed_s", 0))
    if checkpoint["rng"] is not None:
        set_rng_state(checkpoint["rng"])
    if run.dist.main:
        dropped = truncate_log(run.out / "log.jsonl", run.step)
        _say(run.dist)(f"[train] resumed from {path} at step {run.step} (samples {run.samples})"
                       + (f"; {dropped} log records after it dropped" if dropped else ""))


def train_step(run: Run) -> dict:
    """One optimiser step over the global batch; returns the step's log record (all ranks agree)."""
    cfg, dist = run.cfg, run.dist
    ids = list(range(run.samples, run.samples + run.global_batch))
    if run.objective == "jrt":
        step_mask = mlm_mask_for_samples(ids, run.enc_length, cfg.seq_len, cfg.seed)
        counts = jrt_counts(cfg.seq_len, run.enc_length, len(ids), step_mask)
    else:
        step_mask, counts = None, ntp_counts(cfg.seq_len, len(ids))
    ntp_sum = mlm_sum = 0.0
    for micro in range(cfg.grad_accum):
        first = (micro * dist.world + dist.rank) * cfg.micro_batch_size
        rows = list(range(first, first + cfg.micro_batch_size))
        tokens = torch.from_numpy(run.data.batch([ids[r] for r in rows])).to(dist.device, non_blocking=True)
        last_micro = micro == cfg.grad_accum - 1
        sync = contextlib.nullcontext()
        if dist.kind == "ddp" and not last_micro:
            sync = run.model.no_sync()
        elif dist.kind == "fsdp":
            run.model.set_requires_gradient_sync(last_micro)
        with sync:
            with run.autocast():
                res = compute_loss(run.model, tokens, run.objective, enc_length=run.enc_length,
                                   mask_token_id=run.mask_id, normalizer=counts,
                                   mlm_mask=step_mask[rows] if step_mask is not None else None)
            # DDP/FSDP average gradients over ranks; the loss is already normalised by the global
            # count, so scale back up by the world size
            (res["loss"] * dist.world).backward()
        ntp_sum = ntp_sum + res["ntp_sum"]
        if res["mlm_sum"] is not None:
            mlm_sum = mlm_sum + res["mlm_sum"]
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip or float("inf"))
    if hasattr(grad_norm, "full_tensor"):
        grad_norm = grad_norm.full_tensor()
    lr_now = run.schedule.get_last_lr()[0]
    run.optimizer.step()
    run.schedule.step()
    run.optimizer.zero_grad(set_to_none=True)
    ntp_sum, mlm_sum = dist.all_reduce_sum([float(ntp_sum), float(mlm_sum)])
    run.step += 1
    run.samples += run.global_batch
    ntp = ntp_sum / max(counts.ntp, 1)
    record = {"kind": "train", "step": run.step, "ntp": ntp, "lr": lr_now, "grad_norm": float(grad_norm),
              "tokens": run.samples * cfg.seq_len}
    if run.objective == "jrt":
        mlm = mlm_sum / max(counts.mlm, 1)
        record.update({"mlm": mlm, "loss": ntp + 0.25 * mlm,
                       "mlm_fraction": counts.mlm / (run.global_batch * run.enc_length)})
    else:
        record["loss"] = ntp
    if not math.isfinite(record["loss"]):
        raise FloatingPointError(f"non-finite loss at step {run.step}: {record}")
    return record


def evaluate(run: Run, splits: dict[str, TokenSplit], probe: dict | None = None) -> dict:
    """Perplexity on each split; with a recall probe, its teacher-forced answer accuracy as well."""
    eval_from = run.cfg.eval_from if run.cfg.eval_from is not None else run.enc_length
    out = {name: evaluate_perplexity(run.model, split, run.cfg.seq_len, eval_from, run.cfg.eval_tokens,
                                     run.cfg.micro_batch_size, run.dist, run.autocast,
                                     report_all_positions=run.objective != "jrt")
           for name, split in splits.items()}
    if probe is not None:
        # every rank runs it (FSDP needs all shards); DDP's wrapper is bypassed (its forward syncs buffers)
        model = run.model if run.dist.kind == "fsdp" else unwrap(run.model)
        jrt_prefix = run.enc_length if run.objective == "jrt" else None
        out["recall_probe"] = score_probe(model, probe, run.dist.device, run.autocast, jrt_prefix,
                                          batch_size=run.cfg.micro_batch_size)
    return out


def checkpoint(run: Run, t_start: float) -> None:
    model_state = full_model_state(run.model, run.dist)
    optim_state = full_optimizer_state(run.model, run.optimizer, run.dist)
    rngs = run.dist.gather_objects(rng_state())
    if run.dist.main:
        trainer_state = {"step": run.step, "samples": run.samples, "tokens": run.samples * run.cfg.seq_len,
                         "elapsed_s": run.elapsed_before + (time.time() - t_start), **run.identity()}
        save_checkpoint(run.out / "checkpoints", run.step, model_state, optim_state, run.schedule.state_dict(), rngs,
                        trainer_state, keep_last=run.cfg.keep_last)
    run.dist.barrier()


def _eval_splits(cfg: TrainConfig) -> dict[str, TokenSplit]:
    splits = {}
    for name in cfg.eval_splits:
        try:
            splits[name] = TokenSplit(cfg.data, name)
        except Exception:  # noqa: BLE001 - a split the data dir does not have is skipped
            pass
    return splits


def _write_run_config(run: Run) -> None:
    info = {k: v for k, v in run.info.items() if k != "config"}
    (run.out / "run_config.json").write_text(json.dumps(
        {"config": asdict(run.cfg), "model_info": info, "model_config": run.info.get("config"),
         "objective": run.objective, "prefix": run.enc_length, "world_size": run.dist.world,
         "global_batch": run.global_batch, "tokens_per_step": run.tokens_per_step, "total_steps": run.total_steps,
         "data_manifest_hash": run.train_split.manifest.get("hash")}, indent=2, default=str) + "\n")


def _over_time(run: Run, t_start: float) -> bool:
    """Past --max-time; every rank decides the same (so all stop at one step)."""
    if run.cfg.max_time is None:
        return False
    over = run.elapsed_before + time.time() - t_start > run.cfg.max_time
    if run.dist.world > 1:
        over = run.dist.all_reduce_sum([float(over)])[0] > 0
    return over


def _loop(run: Run) -> dict:
    from tqdm.auto import tqdm

    cfg, dist, say = run.cfg, run.dist, _say(run.dist)
    if dist.main:
        run.out.mkdir(parents=True, exist_ok=True)
    if cfg.compile:
        run.model = torch.compile(run.model)
    logger = JSONLLogger(run.out, dist.main, cfg.tensorboard, purge_step=run.step + 1 if run.step else None)
    if dist.main and run.step == 0:
        _write_run_config(run)
    eval_sets = _eval_splits(cfg)
    probe = json.loads(Path(cfg.recall_probe).read_text()) if cfg.recall_probe else None
    run.model.train()
    t_start = t_log = time.time()
    tokens_since_log = tokens_this_process = 0
    bar = tqdm(total=run.total_steps, initial=run.step, desc=f"train {cfg.model}", unit="step",
               disable=not (dist.main and cfg.progress), dynamic_ncols=True)
    last, stopped_by_time = {}, False
    while run.step < run.total_steps:
        record = train_step(run)
        tokens_since_log += run.tokens_per_step
        tokens_this_process += run.tokens_per_step
        bar.update(1)
        if run.step % cfg.log_every == 0 or run.step == run.total_steps or run.step == 1:
            if dist.device.type == "cuda":
                torch.cuda.synchronize()
            now = time.time()
            record["tok_per_s"] = tokens_since_log / max(now - t_log, 1e-9)
            record["elapsed_s"] = run.elapsed_before + now - t_start
            if dist.device.type == "cuda":  # this rank's peak, for multi-GPU memory comparisons
                record["peak_mem_gib"] = torch.cuda.max_memory_allocated(dist.device) / 2**30
            t_log, tokens_since_log = now, 0
            logger.log(record)
            bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", tps=f"{record['tok_per_s']:.0f}")
        last = record
        if cfg.eval_every and run.step % cfg.eval_every == 0 and run.step != run.total_steps:
            logger.log({"kind": "eval", "step": run.step, "tokens": run.samples * cfg.seq_len,
                        **evaluate(run, eval_sets, probe)})
        if _over_time(run, t_start):
            stopped_by_time = True
            say(f"[train] --max-time {cfg.max_time}s reached at step {run.step}")
            if cfg.save_every:
                checkpoint(run, t_start)
            break
        if cfg.save_every and run.step % cfg.save_every == 0:
            checkpoint(run, t_start)
    bar.close()
    if dist.device.type == "cuda":
        torch.cuda.synchronize()
    train_seconds = time.time() - t_start
    if not stopped_by_time and cfg.save_every and run.step % cfg.save_every != 0:
        checkpoint(run, t_start)
    final_eval = evaluate(run, eval_sets, probe)
    logger.log({"kind": "eval", "step": run.step, "tokens": run.samples * cfg.seq_len, **final_eval})
    summary = _summary(run, last, final_eval, train_seconds, tokens_this_process, stopped_by_time)
    if cfg.save_final_model:
        _save_final_model(run)
    if dist.main:
        (run.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        say(f"[train] done: {run.step} steps, {run.samples * cfg.seq_len:,} tokens, "
            f"{summary['tokens_per_s']:.0f} tok/s; eval " + json.dumps(final_eval))
    logger.close()
    return summary


def _summary(run: Run, last: dict, final_eval: dict, train_seconds: float, tokens: int, stopped_by_time: bool) -> dict:
    cfg, dist = run.cfg, run.dist
    cuda = dist.device.type == "cuda"
    return {
        "model": cfg.model, "family": run.info["family"], "params": run.info["params"], "objective": run.objective,
        "prefix": run.enc_length if run.objective == "jrt" else None, "steps": run.step,
        "tokens": run.samples * cfg.seq_len, "seq_len": cfg.seq_len, "global_batch": run.global_batch,
        "world_size": dist.world, "dist": dist.kind, "device": str(dist.device),
        "device_name": torch.cuda.get_device_name(dist.device) if cuda else "cpu",
        "bf16": run.use_bf16, "compile": cfg.compile, "train_seconds_this_process": train_seconds,
        "tokens_per_s": tokens / max(train_seconds, 1e-9), "final_train": last, "eval": final_eval,
        "peak_mem_gib": torch.cuda.max_memory_allocated(dist.device) / 2**30 if cuda else None,
        "recurrent_state_bytes": decode_state_bytes(run.model, cfg.seq_len,
                                                    torch.bfloat16 if run.use_bf16 else torch.float32),
        "data_manifest_hash": run.train_split.manifest.get("hash"), "stopped_by_time": stopped_by_time,
    }


def _save_final_model(run: Run) -> None:
    """final_model/: safetensors + config (+ the data's tokenizer), loadable by `jrt eval --model`."""
    model_state = full_model_state(run.model, run.dist)
    if not run.dist.main:
        return
    target = run.out / "final_model"
    unwrap(run.model).save_pretrained(str(target), state_dict=model_state)
    source = copy_tokenizer(Path(run.cfg.data), run.train_split.manifest, target)
    if source is None:
        _say(run.dist)(f"[train] warning: the data's tokenizer was not found; {target} has no tokenizer files "
                       "(pass --tokenizer to jrt eval)")

