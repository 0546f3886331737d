"""One process or many (torchrun): the process group, the model's wrapping, full state dicts, RNG states.

Under torchrun (WORLD_SIZE > 1) the model is wrapped in DDP (default) or sharded with FSDP2
(`fully_shard` on each block, then on the whole). NCCL on CUDA, gloo on CPU (how CI tests it).
Checkpoints always hold full, unsharded states, so a run resumes on any number of processes.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch


class Dist:
    """The process's place in the job (from torchrun's variables) and the few collectives we use."""

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

    def broadcast_object(self, obj):
        """Rank 0's `obj` on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self):
        if self.world > 1:
            torch.distributed.barrier()

    def close(self):
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def wrap_model(model, dist: Dist):
    """DDP or FSDP2 around `model` (already on dist.device); the model itself in one process."""
    if dist.kind == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[dist.local_rank] if dist.device.type == "cuda" else None)
    if dist.kind == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in _blocks(model):
            fully_shard(block)
        fully_shard(model)
    return model


def _blocks(model):
    """The repeated blocks of a JRT / Llama / Mamba2 / GLA model (each one FSDP unit)."""
    for path in ("model.layers", "backbone.layers", "model.blocks", "layers"):
        obj = model
        try:
            for attr in path.split("."):
                obj = getattr(obj, attr)
            return obj
        except AttributeError:
            continue
    return []


def unwrap(model):
    """The plain model under torch.compile and DDP."""
    model = getattr(model, "_orig_mod", model)
    return getattr(model, "module", model)


def full_model_state(model, dist: Dist) -> dict:
    """The whole model's state dict on the CPU (gathered from the shards under FSDP2)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    if dist.kind == "fsdp":
        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}


def full_optimizer_state(model, optimizer, dist: Dist) -> dict:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    if dist.kind == "fsdp":
        return get_optimizer_state_dict(model, optimizer,
                                        options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return optimizer.state_dict()


def load_full_states(model, optimizer, checkpoint: dict, dist: Dist) -> None:
    """Model and optimizer states of a checkpoint, on one process or sharded; a mismatch is an error."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict, set_optimizer_state_dict

    if dist.kind == "fsdp":
        options = StateDictOptions(full_state_dict=True)
        set_model_state_dict(model, checkpoint["model"], options=options)
        set_optimizer_state_dict(model, optimizer, checkpoint["optimizer"], options=options)
        return
    missing, unexpected = unwrap(model).load_state_dict(checkpoint["model"], strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:   # a tied head is stored once
        raise RuntimeError(f"checkpoint weights do not match the model: missing {missing}, unexpected {unexpected}")
    optimizer.load_state_dict(checkpoint["optimizer"])


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
