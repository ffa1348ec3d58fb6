"""VM-NET's two-branch embedding network (Hong, Im & Yang, §III-C and §IV-B).

Each branch is a stack of fully connected layers with ReLU and dropout; the last layer is followed
by batch normalisation ("to solve the scale imbalance between music and image features") and L2
normalisation, so the dot product of a video and a music embedding is their cosine similarity. The
paper's widths are 2048-512 for video and 2048-1024-512 for music (music gets the deeper branch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional

from training.preference.model import safe_std


@dataclass(frozen=True)
class RetrievalConfig:
    video_dim: int
    music_dim: int
    video_layers: tuple[int, ...] = (2048, 512)
    music_layers: tuple[int, ...] = (2048, 1024, 512)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.video_layers[-1] != self.music_layers[-1]:
            raise ValueError("both branches must end in the same embedding size")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["video_layers"] = list(self.video_layers)
        data["music_layers"] = list(self.music_layers)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RetrievalConfig:
        return cls(**{**data, "video_layers": tuple(data["video_layers"]), "music_layers": tuple(data["music_layers"])})


class Branch(nn.Module):
    def __init__(self, in_dim: int, widths: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        layers: list[nn.Module] = []
        previous = in_dim
        for index, width in enumerate(widths):
            layers.append(nn.Linear(previous, width))
            if index < len(widths) - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
            previous = width
        layers.append(nn.BatchNorm1d(previous))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.normalize(self.layers((x - self.mean) / self.std), dim=1)


class VMNet(nn.Module):
    def __init__(self, config: RetrievalConfig) -> None:
        super().__init__()
        self.config = config
        self.video = Branch(config.video_dim, config.video_layers, config.dropout)
        self.music = Branch(config.music_dim, config.music_layers, config.dropout)

    def set_normalisation(self, *, video: torch.Tensor, music: torch.Tensor) -> None:
        for branch, data in ((self.video, video), (self.music, music)):
            mean = data.mean(0)
            branch.mean.copy_(mean)
            branch.std.copy_(safe_std(data.std(0, unbiased=False), mean) if len(data) > 1 else torch.ones_like(mean))

    def forward(self, video: torch.Tensor, music: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.video(video), self.music(music)
