"""The preference model with trainable visual backbones (Langlois 2019, Fig. 4, trained end to end).

    clip inputs ─ backbone(s) from the chosen stage on (RGB ResNet-50, flow ResNet-50 or I3D flow) ─┐
    excerpt A ─ VGGish embedding (frozen, cached) ───────────────────────────────────────────────────┼─ PreferenceNet ─ P(A)
    excerpt B ─ the same ────────────────────────────────────────────────────────────────────────────┘

The visual streams are the feature extractors' own definitions (``decode`` / ``to_input`` / ``rows``
in training/features/extractors.py), so a fine-tuned stream computes what the frozen one would with
the same weights. A clip's embedding is the mean of its rows (frames, flow stacks), concatenated over
streams, as in the frozen path - except that each stream's embedding is layer-normalised (no
parameters) first: the head standardises its inputs with statistics fixed at the start, and without
this a backbone update that moves a feature by more than its initial spread would blow up the
standardised input (seen as a training loss of 200 on random-init backbones). The audio side stays frozen: VGGish's released
embedding ends in 8-bit quantisation, which has no gradient, and both excerpts already share one
trainable projection inside the head.
"""

from __future__ import annotations

import torch
from torch import nn

from training.backbones.stages import freeze_batchnorm_statistics, set_trainable
from training.preference.model import PreferenceNet


class FineTuneNet(nn.Module):
    def __init__(
        self,
        *,
        backbones: dict[str, nn.Module],
        extractors: dict[str, object],
        head: PreferenceNet,
        train_from: str,
        direction: str = "V2M",
    ) -> None:
        super().__init__()
        self.backbones = nn.ModuleDict(backbones)
        self.extractors = dict(extractors)  # not modules: the stream definitions (to_input / rows)
        self.head = head
        self.train_from = train_from
        self.direction = direction
        self.stream_names = list(backbones)
        self.backbone_parameters: list[nn.Parameter] = []
        for backbone in self.backbones.values():
            self.backbone_parameters += set_trainable(backbone, train_from)

    @property
    def config(self):
        """The head's configuration (what a run records as its model)."""
        return self.head.config

    def train(self, mode: bool = True) -> FineTuneNet:
        super().train(mode)
        for backbone in self.backbones.values():
            if self.train_from == "head":
                backbone.eval()
            else:
                freeze_batchnorm_statistics(backbone)
        return self

    def clip_features(self, inputs: dict[str, list[torch.Tensor]]) -> torch.Tensor:
        """``(N, visual dim)``: per stream, the mean of each clip's rows; streams concatenated in order."""
        blocks = []
        for name in self.stream_names:
            extractor, backbone = self.extractors[name], self.backbones[name]
            clips = [extractor.to_input(x) for x in inputs[name]]
            if extractor.framewise:
                sizes = [len(x) for x in clips]
                rows = extractor.rows(backbone, torch.cat(clips)).float()
                pooled = torch.stack([part.mean(dim=0) for part in torch.split(rows, sizes)])
            else:
                pooled = torch.stack([extractor.rows(backbone, x).float().mean(dim=0) for x in clips])
            blocks.append(nn.functional.layer_norm(pooled, pooled.shape[1:]))
        return torch.cat(blocks, dim=1)

    def encode(self, role) -> torch.Tensor:
        """A role of a batch (a dict of clip inputs, or a tensor of cached audio embeddings) as features."""
        return self.clip_features(role) if isinstance(role, dict) else role.float()

    def forward(self, query, option_a, option_b, flip: torch.Tensor | None = None) -> torch.Tensor:
        """Logit of P(first option preferred); with ``flip``, the options of flagged items are presented swapped."""
        q, a, b = self.encode(query), self.encode(option_a), self.encode(option_b)
        if flip is not None:
            a, b = torch.where(flip[:, None], b, a), torch.where(flip[:, None], a, b)
        return self.head(q, a, b)

    def symmetric_probability(self, query, option_a, option_b) -> torch.Tensor:
        q, a, b = self.encode(query), self.encode(option_a), self.encode(option_b)
        return self.head.symmetric_probability(q, a, b)
