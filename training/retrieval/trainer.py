"""Training a two-branch retrieval model on matching (video, music) rows, clip or segment level.

A :class:`PairSet` row is one matching pair: a clip's video and music features, or one segment's.
``groups`` says which rows come from the same music video: at the segment level, the other segments
of the query's own video are neither positives nor negatives (Seg-VM-Net §IV-C: "the negative
samples can only be sampled from other music tracks").

Losses (``loss``):

``vmnet``  VM-NET's inter-modal ranking loss with top-K violations in both directions plus the soft
           intra-modal structure loss (:mod:`training.retrieval.losses`); ranking by distance.
``bce``    Prétet et al.'s BCE head on the concatenated embeddings (:mod:`training.retrieval.bce`):
           each row is a positive, and each row's video is paired with the music of a random row
           from another group as a negative; ranking by the head's score.

Adam on random batches, early stopping on the validation loss (the best epoch's weights are kept).
Runs on CUDA when torch sees a GPU, else on the CPU.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from training.device import resolve_device
from training.errors import TrainingInputError
from training.retrieval.bce import BCEHead, bce_pair_loss
from training.retrieval.losses import inter_modal_ranking_loss, soft_intra_modal_structure_loss
from training.retrieval.model import RetrievalConfig, VMNet

LOSSES = ("vmnet", "bce")


@dataclass(frozen=True)
class FitConfig:
    loss: str = "vmnet"
    video_layers: tuple[int, ...] = (512, 128)
    music_layers: tuple[int, ...] = (512, 256, 128)
    dropout: float = 0.1
    margin: float = 0.1
    top_k: int = 100
    weight_v2m: float = 1.0
    weight_m2v: float = 3.0
    weight_intra_video: float = 0.2
    weight_intra_music: float = 0.2
    intra_samples: int = 64
    bce_hidden: tuple[int, ...] = (1024, 128)
    epochs: int = 80
    patience: int = 12
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise TrainingInputError(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}.")
        if self.video_layers[-1] != self.music_layers[-1]:
            raise TrainingInputError("video_layers and music_layers must end in the same embedding size.")
        for name in ("epochs", "patience", "batch_size", "top_k", "intra_samples"):
            if int(getattr(self, name)) < 1:
                raise TrainingInputError(f"training {name} must be a positive integer.")
        if not self.lr > 0:
            raise TrainingInputError("training lr must be positive.")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> FitConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = set(data) - set(known)
        if unknown:
            raise TrainingInputError(f"unknown training option(s) {sorted(unknown)}.")
        for key in ("video_layers", "music_layers", "bce_hidden"):
            if key in known:
                known[key] = tuple(int(x) for x in known[key])
        return cls(**known)


@dataclass
class PairSet:
    video: np.ndarray  # (N, video_dim)
    music: np.ndarray  # (N, music_dim)
    groups: np.ndarray  # (N,) int: rows of one music video share a group

    def __post_init__(self) -> None:
        if not (len(self.video) == len(self.music) == len(self.groups)):
            raise ValueError("video, music and groups need one row per pair.")

    def __len__(self) -> int:
        return len(self.groups)


class RetrievalModel(torch.nn.Module):
    """VM-NET's two branches, plus the BCE head when the loss is ``bce``."""

    def __init__(self, config: RetrievalConfig, *, loss: str, bce_hidden: tuple[int, ...] = (1024, 128)) -> None:
        super().__init__()
        self.loss = loss
        self.bce_hidden = tuple(bce_hidden)
        self.net = VMNet(config)
        self.head = BCEHead(config.video_layers[-1], bce_hidden) if loss == "bce" else None

    def embed_video(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.video(x)

    def embed_music(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.music(x)

    def similarity(self, video: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        """(a, b) similarities in [-1, 1] of embedded video rows and music rows."""
        if self.head is None:
            return video @ music.T
        return 2.0 * torch.sigmoid(self.head.all_pairs(video, music)) - 1.0


def build_model(video_dim: int, music_dim: int, config: FitConfig) -> RetrievalModel:
    return RetrievalModel(
        RetrievalConfig(
            video_dim=video_dim,
            music_dim=music_dim,
            video_layers=tuple(config.video_layers),
            music_layers=tuple(config.music_layers),
            dropout=config.dropout,
        ),
        loss=config.loss,
        bce_hidden=tuple(config.bce_hidden),
    )


def _negatives(groups: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row a random row of another group, and a mask of rows that found one."""
    n = len(groups)
    choice = torch.randint(0, n, (n,), generator=generator)
    for _ in range(8):
        clash = groups[choice] == groups
        if not bool(clash.any()):
            break
        choice = torch.where(clash, torch.randint(0, n, (n,), generator=generator), choice)
    return choice, groups[choice] != groups


def batch_loss(
    model: RetrievalModel,
    video_raw: torch.Tensor,
    music_raw: torch.Tensor,
    groups: torch.Tensor,
    config: FitConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    video, music = model.embed_video(video_raw), model.embed_music(music_raw)
    if model.head is not None:
        # Drawn on the CPU (the generator lives there), then moved to the model's device.
        negatives, ok = _negatives(groups.cpu(), generator)
        return bce_pair_loss(model.head, video, music, negatives.to(video.device), ok.to(video.device))
    same_video = (groups[:, None] == groups[None, :]).to(video.device)
    loss_v2m, loss_m2v = inter_modal_ranking_loss(
        video, music, margin=config.margin, top_k=config.top_k, positive_mask=same_video
    )
    m = min(len(groups), config.intra_samples)
    net = model.net
    intra_video = soft_intra_modal_structure_loss(video[:m], (video_raw[:m] - net.video.mean) / net.video.std)
    intra_music = soft_intra_modal_structure_loss(music[:m], (music_raw[:m] - net.music.mean) / net.music.std)
    return (
        config.weight_v2m * loss_v2m
        + config.weight_m2v * loss_m2v
        + config.weight_intra_video * intra_video
        + config.weight_intra_music * intra_music
    )


def fit_pairs(train: PairSet, val: PairSet, config: FitConfig, *, seed: int) -> tuple[RetrievalModel, list[dict]]:
    """Train on ``train``, early-stop on ``val``; returns the best model (eval mode, CPU) and the history."""
    if len(train) < 2 or len(val) < 1:
        raise TrainingInputError("training needs at least two training pairs and one validation pair.")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    run_on = resolve_device("auto")  # the project's one device policy (training/device.py)
    model = build_model(train.video.shape[1], train.music.shape[1], config)
    video = torch.as_tensor(train.video, dtype=torch.float32)
    music = torch.as_tensor(train.music, dtype=torch.float32)
    groups = torch.as_tensor(train.groups, dtype=torch.long)
    model.net.set_normalisation(video=video, music=music)
    model.to(run_on)
    video, music, groups_on = video.to(run_on), music.to(run_on), groups.to(run_on)
    val_video = torch.as_tensor(val.video, dtype=torch.float32, device=run_on)
    val_music = torch.as_tensor(val.music, dtype=torch.float32, device=run_on)
    val_groups = torch.as_tensor(val.groups, dtype=torch.long, device=run_on)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best, best_epoch, best_state, history = math.inf, 0, copy.deepcopy(model.state_dict()), []
    batch_size = max(2, config.batch_size)
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(train), batch_size):
            rows = order[start : start + batch_size]
            if len(rows) < 2:  # batch norm needs two rows
                continue
            rows_on = rows.to(run_on)
            loss = batch_loss(model, video[rows_on], music[rows_on], groups_on[rows_on], config, generator)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.item()) * len(rows)
            seen += len(rows)
        model.eval()
        with torch.no_grad():
            # A fixed generator: the validation loss of the BCE head has the same negatives every epoch.
            val_loss = float(
                batch_loss(model, val_video, val_music, val_groups, config, torch.Generator().manual_seed(seed)).item()
            )
        history.append({"epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val_loss})
        if val_loss < best - 1e-6:
            best, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    return model.cpu().eval(), history
