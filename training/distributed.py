"""Multi-process training through ``torchrun`` and PyTorch's DistributedDataParallel (no engine of our own).

Launch any training command under ``torchrun``; it sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``
and this module joins the process group (NCCL on GPUs, gloo on CPUs)::

    torchrun --nproc-per-node 4 -m training train-preference --fine-tune ...        # one machine, 4 GPUs
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29400 -m training train-preference --fine-tune ...        # two machines

Each process trains on its shard of every batch (``DistributedSampler``); DDP averages the gradients,
so with ``--batch-size B`` (the *global* batch) each of N processes takes B / N items and the update
equals single-process training on B items (tests/training/test_distributed.py checks this on CPU).
Only rank 0 writes files. Without ``torchrun`` everything runs in one process and nothing here
touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from training.device import resolve_device
from training.errors import TrainingInputError


@dataclass(frozen=True)
class Context:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def torchrun_shard() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, (0, 1, 0) without it."""
    return (
        int(os.environ.get("RANK", "0")),
        int(os.environ.get("WORLD_SIZE", "1")),
        int(os.environ.get("LOCAL_RANK", "0")),
    )


def setup(device_name: str = "auto", *, backend: str | None = None) -> Context:
    """Join the process group when launched by ``torchrun`` (else a single-process context) on ``device_name``."""
    if not launched_by_torchrun():
        return Context(device=resolve_device(device_name))
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank=local_rank)
    if device.type == "mps":
        raise TrainingInputError(
            "multi-process training on MPS is not supported by torch.distributed; use one process."
        )
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if device.type == "cuda" else "gloo"))
    return Context(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def teardown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, context: Context) -> nn.Module:
    """The model wrapped in DistributedDataParallel when there are several processes."""
    if not context.distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_sum(values: torch.Tensor, context: Context) -> torch.Tensor:
    """Element-wise sum of a tensor over all processes (the tensor itself when alone)."""
    if not context.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_object(value, context: Context):
    """Rank 0's ``value`` on every process."""
    if not context.distributed:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def barrier(context: Context) -> None:
    if context.distributed:
        dist.barrier()


def per_process_batch(batch_size: int, context: Context) -> int:
    """Each process's share of a global batch; the global batch must divide evenly so updates match one process."""
    if batch_size % context.world_size:
        raise TrainingInputError(
            f"--batch-size {batch_size} is the global batch and must be a multiple of the {context.world_size} processes."
        )
    return batch_size // context.world_size
