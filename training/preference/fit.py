"""The training loop of the preference head: swap augmentation, symmetric validation, early stopping."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from training.preference.data import PreferenceTensors
from training.preference.model import PreferenceNet


@dataclass(frozen=True)
class FitSettings:
    epochs: int = 60
    patience: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4


@dataclass(frozen=True)
class Evaluation:
    loss: float  # binary cross-entropy of the symmetric probability
    correct: int
    n: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


@torch.no_grad()
def evaluate(model: PreferenceNet, data: PreferenceTensors, *, chunk: int = 4096) -> Evaluation:
    """Symmetric scoring: an item counts as correct when P_sym(A) > 0.5 and A was chosen (or < 0.5 and B)."""
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(data), chunk):
        rows = torch.arange(start, min(start + chunk, len(data)), device=data.device)
        query, a, b, labels = data.batch(rows)
        probability = model.symmetric_probability(query, a, b).clamp(1e-7, 1 - 1e-7)
        total_loss += float(nn.functional.binary_cross_entropy(probability, labels, reduction="sum"))
        # Ties (exactly 0.5) count as wrong: a constant model must not look better than chance.
        predicted = torch.where(probability > 0.5, 1.0, torch.where(probability < 0.5, 0.0, -1.0))
        # Soft (inferred) labels count as the side they favour; raw labels are 0/1 already.
        correct += int((predicted == (labels > 0.5).float()).sum())
    return Evaluation(loss=total_loss / max(len(data), 1), correct=correct, n=len(data))


def train_one_epoch(
    model: PreferenceNet,
    data: PreferenceTensors,
    optimiser: torch.optim.Optimizer,
    *,
    batch_size: int,
    generator: torch.Generator,
    progress: bool = False,
    description: str = "",
) -> float:
    """One pass in random order; each item is presented as (A, B) or, with probability ½, as (B, A)."""
    model.train()
    # The order and swaps come from a CPU generator, so a run is the same on every device.
    order = torch.randperm(len(data), generator=generator).to(data.device)
    swap = (torch.rand(len(data), generator=generator) < 0.5).to(data.device)
    total = 0.0
    batches = range(0, len(data), batch_size)
    # A per-batch bar only pays off for long epochs; short ones would just flicker under the epoch bar.
    for start in tqdm(batches, desc=description, unit="batch", leave=False, disable=not progress or len(batches) < 50):
        rows = order[start : start + batch_size]
        query, a, b, labels = data.batch(rows)
        flip = swap[rows]
        first = torch.where(flip[:, None], b, a)
        second = torch.where(flip[:, None], a, b)
        target = torch.where(flip, 1.0 - labels, labels)
        logits = model(query, first, second)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(rows)
    return total / max(len(data), 1)


@dataclass
class FitResult:
    best_epoch: int
    best_state: dict
    history: list[dict]
    stopped_early: bool


def fit(
    model: PreferenceNet,
    train: PreferenceTensors,
    val: PreferenceTensors,
    settings: FitSettings,
    *,
    generator: torch.Generator,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> FitResult:
    """Train until the validation loss has not improved for ``patience`` epochs; keep the best weights."""
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    history: list[dict] = []
    epochs = tqdm(range(1, settings.epochs + 1), desc="epochs", unit="epoch", disable=not progress)
    stopped_early = False
    for epoch in epochs:
        started = time.perf_counter()
        train_loss = train_one_epoch(
            model,
            train,
            optimiser,
            batch_size=settings.batch_size,
            generator=generator,
            progress=progress,
            description=f"epoch {epoch}",
        )
        seconds = time.perf_counter() - started
        on_train = evaluate(model, train)
        on_val = evaluate(model, val)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_sym_loss": on_train.loss,
            "train_acc": on_train.accuracy,
            "val_loss": on_val.loss,
            "val_acc": on_val.accuracy,
            "epoch_seconds": seconds,
        }
        history.append(row)
        if on_epoch:
            on_epoch(row)
        epochs.set_postfix(val_loss=f"{on_val.loss:.4f}", val_acc=f"{on_val.accuracy:.3f}")
        if on_val.loss < best_loss - 1e-6:
            best_loss, best_epoch, best_state = on_val.loss, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= settings.patience:
            stopped_early = True
            break
    return FitResult(best_epoch=best_epoch, best_state=best_state, history=history, stopped_early=stopped_early)
