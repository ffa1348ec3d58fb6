"""The preference network of Langlois (2019) Fig. 4, on top of frozen backbone features.

    visual embedding (RGB ResNet-50 ⊕ flow ResNet-50 / I3D flow) ─ query projection ─┐
    audio embedding of track A (VGGish) ─ shared option projection ──────────────────┼─ concat ─ hidden ─ P(A)
    audio embedding of track B (VGGish) ─ the same option projection ────────────────┘

Both tracks go through the same audio network (here: the same frozen VGGish and the same trainable
projection), which is what the paper describes. For M2V items the roles swap: the query is an
excerpt and the options are clips; the network is the same shape with the dimensions exchanged.

The raw concatenated head is not symmetric in (A, B), so answer position could leak into a score.
:meth:`PreferenceNet.symmetric_probability` therefore averages P(A | A, B) and 1 - P(B | B, A):
swapping the options gives exactly the complementary probability.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PreferenceConfig:
    query_dim: int
    option_dim: int
    embed_dim: int = 128
    hidden_dim: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


def safe_std(std: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Per-dimension scale for standardising, with constant dimensions left unscaled (divisor 1).

    "Constant" is judged relative to the dimension's magnitude, not by an absolute floor: backbone
    features can be tiny yet informative (a random-init I3D gives values around 1e-7), while a
    dimension that is constant up to float32 rounding (std ~ 1e-7 x |mean|) must not be blown up
    into unit-variance noise.
    """
    constant = (std <= 1e-5 * mean.abs()) | (std == 0)
    return torch.where(constant, torch.ones_like(std), std)


class PreferenceNet(nn.Module):
    def __init__(self, config: PreferenceConfig) -> None:
        super().__init__()
        self.config = config
        # Standardisation statistics of the training stimuli, stored with the weights so a checkpoint
        # scores raw cached features exactly as during training.
        self.register_buffer("query_mean", torch.zeros(config.query_dim))
        self.register_buffer("query_std", torch.ones(config.query_dim))
        self.register_buffer("option_mean", torch.zeros(config.option_dim))
        self.register_buffer("option_std", torch.ones(config.option_dim))
        self.query_net = nn.Sequential(
            nn.Linear(config.query_dim, config.embed_dim), nn.ReLU(), nn.Dropout(config.dropout)
        )
        self.option_net = nn.Sequential(
            nn.Linear(config.option_dim, config.embed_dim), nn.ReLU(), nn.Dropout(config.dropout)
        )
        self.head = nn.Sequential(
            nn.Linear(3 * config.embed_dim, config.hidden_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, 1),
        )

    def set_normalisation(
        self, *, query_mean: torch.Tensor, query_std: torch.Tensor, option_mean: torch.Tensor, option_std: torch.Tensor
    ) -> None:
        self.query_mean.copy_(query_mean)
        self.query_std.copy_(safe_std(query_std, query_mean))
        self.option_mean.copy_(option_mean)
        self.option_std.copy_(safe_std(option_std, option_mean))

    def forward(self, query: torch.Tensor, option_a: torch.Tensor, option_b: torch.Tensor) -> torch.Tensor:
        """Logit of P(option A preferred) for the options in this order (not position-invariant)."""
        q = self.query_net((query - self.query_mean) / self.query_std)
        a = self.option_net((option_a - self.option_mean) / self.option_std)
        b = self.option_net((option_b - self.option_mean) / self.option_std)
        return self.head(torch.cat([q, a, b], dim=1)).squeeze(1)

    def symmetric_probability(
        self, query: torch.Tensor, option_a: torch.Tensor, option_b: torch.Tensor
    ) -> torch.Tensor:
        """P(A preferred), averaged over both presentation orders: f(q,A,B) and 1 - f(q,B,A)."""
        forward = torch.sigmoid(self(query, option_a, option_b))
        backward = torch.sigmoid(self(query, option_b, option_a))
        return 0.5 * (forward + 1.0 - backward)
