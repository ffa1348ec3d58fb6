"""The binary cross-entropy head of Prétet, Richard & Peeters (design choices, §IV-B, Fig. 2).

"We stack three fully-connected layers on top of the VM-NET with 1024, 128 and 1 unit respectively.
The output activation is now a sigmoid. The target of the network is set to 0 for non-matching
audio-video pairs and 1 for matching pairs." The head reads the concatenated video and music
embeddings (512 + 512); candidates are ranked by its sigmoid output (larger = more similar) instead
of by distance.

The first layer acts on [v; m] as W_v v + W_m m, so the scores of every video against every music
embedding are computed from two small products and a broadcast sum, chunked to bound memory.
For alignment and ranking, the score p becomes the similarity s = 2 p - 1 in [-1, 1] (the range of
the cosine similarity of the distance-based model), i.e. the cost 1 - s = 2 (1 - p).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class BCEHead(nn.Module):
    def __init__(self, embed_dim: int, hidden: tuple[int, ...] = (1024, 128)) -> None:
        super().__init__()
        self.video_in = nn.Linear(embed_dim, hidden[0])
        self.music_in = nn.Linear(embed_dim, hidden[0], bias=False)
        layers: list[nn.Module] = []
        previous = hidden[0]
        for width in hidden[1:]:
            layers += [nn.ReLU(), nn.Linear(previous, width)]
            previous = width
        layers += [nn.ReLU(), nn.Linear(previous, 1)]
        self.rest = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        """Logits of matching for aligned rows: (n, d) and (n, d) → (n,)."""
        return self.rest(self.video_in(video) + self.music_in(music)).squeeze(-1)

    def all_pairs(self, video: torch.Tensor, music: torch.Tensor, *, chunk: int = 1 << 22) -> torch.Tensor:
        """Logits of every video row against every music row: (a, d), (b, d) → (a, b)."""
        a, b = len(video), len(music)
        left, right = self.video_in(video), self.music_in(music)
        rows = max(1, chunk // max(b * left.shape[1], 1))
        out = []
        for start in range(0, a, rows):
            hidden = left[start : start + rows, None, :] + right[None, :, :]
            out.append(self.rest(hidden).squeeze(-1))
        return torch.cat(out, dim=0) if out else video.new_zeros((0, b))


def bce_pair_loss(
    head: BCEHead,
    video: torch.Tensor,
    music: torch.Tensor,
    negatives: torch.Tensor,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean BCE over the matching rows (target 1) and the pairs (video i, music negatives[i]) (target 0).

    ``negatives[i]`` indexes ``music``; ``valid`` (boolean) keeps only the rows whose negative is usable.
    """
    positive = head(video, music)
    rows = torch.arange(len(video), device=video.device) if valid is None else torch.nonzero(valid).squeeze(1)
    negative = head(video[rows], music[negatives[rows]])
    logits = torch.cat([positive, negative])
    targets = torch.cat([torch.ones_like(positive), torch.zeros_like(negative)])
    return functional.binary_cross_entropy_with_logits(logits, targets)
