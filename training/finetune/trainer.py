"""The fine-tuning loop: any device, mixed precision, gradient accumulation, DDP, checkpoint-and-resume.

* Device and precision come from :mod:`training.device` (fp16 autocast + GradScaler on CUDA by default).
* Two optimisers: the head keeps the frozen path's Adam; the backbone stages use SGD with momentum
  0.9, Temporal Segment Networks' fine-tuning recipe. Adam's per-weight normalised steps move all
  23 M weights of a ResNet-50 by the learning rate at once, which with frozen BN statistics made the
  features grow by orders of magnitude within a few steps; SGD's steps follow the gradients, which
  are small in the deep layers.
* ``batch_size`` is the *global* batch: under ``torchrun`` each of N processes takes batch_size / N
  items per step (``DistributedSampler``) and DDP averages the gradients, so the update is the same as
  one process on the whole batch. ``accumulate`` splits each batch into that many micro-batches
  (gradients summed, DDP synchronising on the last one only): the update equals the unsplit batch,
  with 1 / accumulate of the activation memory.
* The item order comes from the sampler's seed and the epoch; the A/B swap of each item from a
  generator seeded with (seed, epoch). Neither depends on the number of processes.
* After every epoch rank 0 writes ``train_state.pt`` (model, optimiser, scaler, early-stopping state,
  metrics, torch RNG states) atomically; ``resume=True`` continues from it. On the CPU a resumed run
  ends with exactly the weights of an uninterrupted one (tests/training/finetune/test_trainer.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from training import distributed
from training.device import autocast, grad_scaler, loader_options
from training.errors import TrainingInputError
from training.finetune.data import PreferenceInputs, collate, to_device
from training.finetune.model import FineTuneNet
from training.runs import load_checkpoint, save_checkpoint

STATE_FORMAT = "mvfit-finetune-state"


@dataclass(frozen=True)
class FineTuneSettings:
    epochs: int = 20
    patience: int = 5
    batch_size: int = 32  # global, over all processes and micro-batches
    lr: float = 1e-3  # the head (Adam, as the frozen path)
    backbone_lr: float = 1e-4  # the trainable backbone stages (SGD with momentum 0.9, as TSN)
    weight_decay: float = 1e-4
    accumulate: int = 1
    workers: int = 2
    precision: str = "fp32"  # resolved (training.device.resolve_precision)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    best_epoch: int
    best_state: dict
    history: list[dict]
    stopped_early: bool
    resumed_from: int


def _loader(dataset: Dataset, *, batch: int, sampler, context: distributed.Context, workers: int) -> DataLoader:
    return DataLoader(
        dataset, batch_size=batch, sampler=sampler, collate_fn=collate, **loader_options(context.device, workers)
    )


def swap_flags(n: int, *, seed: int, epoch: int) -> torch.Tensor:
    """Which items are shown as (B, A) in an epoch: the same on every process and after a resume."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.rand(n, generator=generator) < 0.5


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimisers: list[torch.optim.Optimizer],
    scaler: torch.amp.GradScaler,
    *,
    flips: torch.Tensor,
    settings: FineTuneSettings,
    context: distributed.Context,
    progress: bool,
    description: str,
) -> float:
    """One pass; returns the mean training loss over all processes' items (augmented BCE)."""
    model.train()
    total = torch.zeros(2, dtype=torch.float64)
    for batch in tqdm(loader, desc=description, unit="batch", leave=False, disable=not progress):
        batch = to_device(batch, context.device)
        rows = len(batch["label"])
        chunks = torch.arange(rows).tensor_split(settings.accumulate)
        for optimiser in optimisers:
            optimiser.zero_grad(set_to_none=True)
        for step, chunk in enumerate(chunks):
            if len(chunk) == 0:
                continue
            micro = _select(batch, chunk)
            flip = flips[micro["index"].cpu()].to(context.device)
            target = torch.where(flip, 1.0 - micro["label"], micro["label"])
            last = step == len(chunks) - 1
            sync = model.no_sync() if context.distributed and not last else _nullcontext()
            with sync:
                with autocast(context.device, settings.precision):
                    logits = model(micro["query"], micro["a"], micro["b"], flip)
                loss = nn.functional.binary_cross_entropy_with_logits(logits.float(), target, reduction="sum")
                # Sum over the micro-batch / local batch size: the gradients of all micro-batches add up to
                # the mean over the local batch, which DDP then averages over the processes.
                scaler.scale(loss / rows).backward()
            total += torch.tensor([float(loss.detach()), len(chunk)], dtype=torch.float64)
        for optimiser in optimisers:
            scaler.step(optimiser)
        scaler.update()
    total = distributed.all_reduce_sum(total.to(context.device), context).cpu()
    return float(total[0] / max(total[1], 1))


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _select(batch: dict, rows: torch.Tensor) -> dict:
    picked = {}
    index = rows.tolist()
    for key, value in batch.items():
        if isinstance(value, dict):
            picked[key] = {s: [tensors[i] for i in index] for s, tensors in value.items()}
        else:
            picked[key] = value[rows.to(value.device)]
    return picked


@torch.no_grad()
def evaluate(
    model: FineTuneNet,
    dataset: PreferenceInputs,
    *,
    context: distributed.Context,
    precision: str,
    batch_size: int = 32,
    workers: int = 0,
    progress: bool = False,
) -> tuple[float, int, int, torch.Tensor]:
    """Symmetric BCE, correct count, n and P(A) per item (in dataset order), over all processes.

    Each process scores items rank, rank + N, ... (no padding, unlike ``DistributedSampler``), and the
    results are summed, so every item counts once.
    """
    model.eval()
    indices = list(range(context.rank, len(dataset), context.world_size))
    loader = _loader(
        torch.utils.data.Subset(dataset, indices), batch=batch_size, sampler=None, context=context, workers=workers
    )
    probabilities = torch.zeros(len(dataset), dtype=torch.float64)
    for batch in tqdm(loader, desc="evaluate", unit="batch", leave=False, disable=not progress):
        batch = to_device(batch, context.device)
        with autocast(context.device, precision):
            p = model.symmetric_probability(batch["query"], batch["a"], batch["b"]).float()
        probabilities[batch["index"].cpu()] = p.cpu().double()
    probabilities = distributed.all_reduce_sum(probabilities.to(context.device), context).cpu()
    labels = torch.tensor(dataset.items["label"].to_numpy(), dtype=torch.float64)
    clamped = probabilities.clamp(1e-7, 1 - 1e-7)
    loss = float(nn.functional.binary_cross_entropy(clamped, labels, reduction="mean")) if len(dataset) else math.nan
    predicted = torch.where(probabilities > 0.5, 1.0, torch.where(probabilities < 0.5, 0.0, -1.0))
    # Soft (inferred) labels count as the side they favour; raw labels are 0/1 already.
    return loss, int((predicted == (labels > 0.5).double()).sum()), len(dataset), probabilities


def fit(
    model: FineTuneNet,
    train: Dataset,
    val: Dataset,
    settings: FineTuneSettings,
    *,
    context: distributed.Context,
    state_path: Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> FitResult:
    """Fine-tune until the validation loss has not improved for ``patience`` epochs; keep the best weights."""
    if settings.accumulate < 1:
        raise TrainingInputError("--accumulate must be 1 or more.")
    local_batch = distributed.per_process_batch(settings.batch_size, context)
    model.to(context.device)
    ddp_model = distributed.wrap(model, context)
    optimisers = [torch.optim.Adam(model.head.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)]
    if model.backbone_parameters:
        optimisers.append(
            torch.optim.SGD(
                model.backbone_parameters, lr=settings.backbone_lr, momentum=0.9, weight_decay=settings.weight_decay
            )
        )
    scaler = grad_scaler(context.device, settings.precision)
    best_loss, best_epoch, best_state = math.inf, 0, _cpu_state(model)
    history: list[dict] = []
    start_epoch = 1
    if resume and state_path is not None and state_path.exists():
        state = load_checkpoint(state_path, expected_format=STATE_FORMAT)
        if state["settings"] != settings.to_dict() or state["world_size"] != context.world_size:
            raise TrainingInputError(
                f"{state_path} was written with other training settings ({state['settings']}, "
                f"{state['world_size']} process(es)); resume with the same ones."
            )
        model.load_state_dict(state["model"])
        for optimiser, saved in zip(optimisers, state["optimisers"], strict=True):
            optimiser.load_state_dict(saved)
        scaler.load_state_dict(state["scaler"])
        best_loss, best_epoch, best_state = state["best_loss"], state["best_epoch"], state["best_state"]
        history = state["history"]
        torch.set_rng_state(state["rng"])
        if context.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], context.device)
        start_epoch = state["epoch"] + 1
        if state["stopped"]:
            return FitResult(best_epoch, best_state, history, True, state["epoch"])
    resumed_from = start_epoch - 1
    sampler = DistributedSampler(
        train, num_replicas=context.world_size, rank=context.rank, shuffle=True, seed=settings.seed
    )
    loader = _loader(train, batch=local_batch, sampler=sampler, context=context, workers=settings.workers)
    stopped = False
    epochs = tqdm(
        range(start_epoch, settings.epochs + 1),
        desc="epochs",
        unit="epoch",
        disable=not progress or not context.is_main,
    )
    for epoch in epochs:
        sampler.set_epoch(epoch)
        started = time.perf_counter()
        train_loss = train_one_epoch(
            ddp_model,
            loader,
            optimisers,
            scaler,
            flips=swap_flags(len(train), seed=settings.seed, epoch=epoch),
            settings=settings,
            context=context,
            progress=progress and context.is_main,
            description=f"epoch {epoch}",
        )
        seconds = time.perf_counter() - started
        val_loss, val_correct, val_n, _ = evaluate(
            model, val, context=context, precision=settings.precision, batch_size=local_batch
        )
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_acc": val_correct / val_n if val_n else math.nan,
            "epoch_seconds": seconds,
        }
        history.append(row)
        epochs.set_postfix(val_loss=f"{val_loss:.4f}", val_acc=f"{row['val_acc']:.3f}")
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, best_state = val_loss, epoch, _cpu_state(model)
        elif epoch - best_epoch >= settings.patience:
            stopped = True
        if state_path is not None and context.is_main:
            _save_state(
                state_path,
                model=model,
                optimisers=optimisers,
                scaler=scaler,
                settings=settings,
                context=context,
                epoch=epoch,
                best=(best_loss, best_epoch, best_state),
                history=history,
                stopped=stopped,
            )
        distributed.barrier(context)
        if on_epoch:
            on_epoch(row)
        if stopped:
            break
    return FitResult(best_epoch, best_state, history, stopped, resumed_from)


def _cpu_state(model: nn.Module) -> dict:
    return {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}


def _save_state(path: Path, *, model, optimisers, scaler, settings, context, epoch, best, history, stopped) -> None:
    best_loss, best_epoch, best_state = best
    save_checkpoint(
        path,
        {
            "format": STATE_FORMAT,
            "format_version": 1,
            "epoch": epoch,
            "stopped": stopped,
            "settings": settings.to_dict(),
            "world_size": context.world_size,
            "model": _cpu_state(model),
            "optimisers": [optimiser.state_dict() for optimiser in optimisers],
            "scaler": scaler.state_dict(),
            "best_loss": best_loss,
            "best_epoch": best_epoch,
            "best_state": best_state,
            "history": history,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(context.device) if context.device.type == "cuda" else None,
        },
    )
