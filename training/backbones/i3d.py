"""Inflated Inception-v1 (I3D, Carreira & Zisserman 2017) laid out like piergiaj/pytorch-i3d.

Langlois (2019, §3) swaps the static-frame visual stream for "I3D [...] pretrained on Kinetics and
ImageNet [...] only the flow stream", which scored 55.94 ± 1.61 % against 53.2 % for the two-stream
ResNet. The public PyTorch port of those weights is piergiaj's ``pytorch_i3d.py`` (``flow_imagenet.pt``);
this module reproduces its module tree so that checkpoint loads strictly:

* top-level modules named after the TF endpoints (``Conv3d_1a_7x7``, ``Mixed_3b`` ...), each conv unit
  holding ``conv3d`` (bias-free except the logits) and ``bn`` (BatchNorm3d, eps 1e-3, momentum 0.01);
* Inception branches named ``b0``, ``b1a``, ``b1b``, ``b2a``, ``b2b``, ``b3a`` (pool), ``b3b``;
* the classifier ``logits`` as a 1x1x1 ``Unit3D`` with bias and neither BN nor activation.

TensorFlow "SAME" padding is emulated as pytorch-i3d does: convolutions and max-pools are built with
zero padding and the input is padded at run time, by ``max(k - s, 0)`` when the size divides the
stride and ``max(k - size % s, 0)`` otherwise, the smaller half in front. Pools pad with zeros too
(pytorch-i3d's choice); every max-pool here follows a ReLU, so its input is non-negative and zero
padding gives the same result as TF's padding-ignoring max-pool. The ``padding`` argument
pytorch-i3d passes to its units is unused there, so it does not exist here; neither do its
``final_endpoint``/``name`` arguments (the full network is always built).

``forward`` matches pytorch-i3d (``avg_pool`` of 2x7x7, dropout, per-time-step logits; needs 224x224
input). :meth:`InceptionI3d.extract_features` instead averages ``Mixed_5c`` globally over time and
space to ``(N, 1024)``, which works for any clip size and is what the preference model consumes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 1024

Triple = tuple[int, int, int]


def _same_padding(size: Sequence[int], kernel: Triple, stride: Triple) -> tuple[int, ...]:
    """``F.pad`` argument (last dim first) giving TF-style "SAME" output size ``ceil(size / stride)``."""
    pads: list[int] = []
    for s, k, st in zip(reversed(size), reversed(kernel), reversed(stride), strict=True):
        total = max(k - st, 0) if s % st == 0 else max(k - s % st, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class MaxPool3dSamePadding(nn.MaxPool3d):
    """Max-pool with pytorch-i3d's run-time "SAME" zero padding."""

    def __init__(self, kernel_size: Triple, stride: Triple) -> None:
        super().__init__(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, _same_padding(x.shape[2:], self.kernel_size, self.stride)))


class Unit3D(nn.Module):
    """Conv3d (+ BatchNorm3d) (+ ReLU) with run-time "SAME" padding; keys ``conv3d.*`` and ``bn.*``."""

    def __init__(
        self,
        in_channels: int,
        output_channels: int,
        kernel_shape: Triple = (1, 1, 1),
        stride: Triple = (1, 1, 1),
        activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = F.relu,
        use_batch_norm: bool = True,
        use_bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_shape = tuple(kernel_shape)
        self.stride = tuple(stride)
        self.activation_fn = activation_fn
        self.conv3d = nn.Conv3d(in_channels, output_channels, kernel_shape, stride=stride, padding=0, bias=use_bias)
        self.bn = nn.BatchNorm3d(output_channels, eps=0.001, momentum=0.01) if use_batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, _same_padding(x.shape[2:], self.kernel_shape, self.stride)))
        if self.bn is not None:
            x = self.bn(x)
        if self.activation_fn is not None:
            x = self.activation_fn(x)
        return x


class InceptionModule(nn.Module):
    """Four parallel branches concatenated on channels: 1x1 | 1x1->3x3 | 1x1->3x3 | pool->1x1.

    ``out_channels`` = (b0, b1a, b1b, b2a, b2b, b3b), the order of the Inception-v1 table.
    """

    def __init__(self, in_channels: int, out_channels: Sequence[int]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3b = out_channels
        self.b0 = Unit3D(in_channels, c0)
        self.b1a = Unit3D(in_channels, c1a)
        self.b1b = Unit3D(c1a, c1b, kernel_shape=(3, 3, 3))
        self.b2a = Unit3D(in_channels, c2a)
        self.b2b = Unit3D(c2a, c2b, kernel_shape=(3, 3, 3))
        self.b3a = MaxPool3dSamePadding(kernel_size=(3, 3, 3), stride=(1, 1, 1))
        self.b3b = Unit3D(in_channels, c3b)
        self.out_channels = c0 + c1b + c2b + c3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))],
            dim=1,
        )


# (endpoint, in_channels, branch widths) of the Inception modules, Szegedy et al. 2015 Table 1.
_INCEPTION_SPECS: dict[str, tuple[int, tuple[int, ...]]] = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


class InceptionI3d(nn.Module):
    """I3D with pytorch-i3d's state-dict keys. ``in_channels=2`` is the flow stream, 3 the RGB stream."""

    VALID_ENDPOINTS = (
        "Conv3d_1a_7x7",
        "MaxPool3d_2a_3x3",
        "Conv3d_2b_1x1",
        "Conv3d_2c_3x3",
        "MaxPool3d_3a_3x3",
        "Mixed_3b",
        "Mixed_3c",
        "MaxPool3d_4a_3x3",
        "Mixed_4b",
        "Mixed_4c",
        "Mixed_4d",
        "Mixed_4e",
        "Mixed_4f",
        "MaxPool3d_5a_2x2",
        "Mixed_5b",
        "Mixed_5c",
    )

    def __init__(
        self,
        num_classes: int = 400,
        in_channels: int = 2,
        spatial_squeeze: bool = True,
        dropout_keep_prob: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.spatial_squeeze = spatial_squeeze
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, kernel_shape=(7, 7, 7), stride=(2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSamePadding(kernel_size=(1, 3, 3), stride=(1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, kernel_shape=(3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSamePadding(kernel_size=(1, 3, 3), stride=(1, 2, 2))
        self.Mixed_3b = InceptionModule(*_INCEPTION_SPECS["Mixed_3b"])
        self.Mixed_3c = InceptionModule(*_INCEPTION_SPECS["Mixed_3c"])
        self.MaxPool3d_4a_3x3 = MaxPool3dSamePadding(kernel_size=(3, 3, 3), stride=(2, 2, 2))
        self.Mixed_4b = InceptionModule(*_INCEPTION_SPECS["Mixed_4b"])
        self.Mixed_4c = InceptionModule(*_INCEPTION_SPECS["Mixed_4c"])
        self.Mixed_4d = InceptionModule(*_INCEPTION_SPECS["Mixed_4d"])
        self.Mixed_4e = InceptionModule(*_INCEPTION_SPECS["Mixed_4e"])
        self.Mixed_4f = InceptionModule(*_INCEPTION_SPECS["Mixed_4f"])
        self.MaxPool3d_5a_2x2 = MaxPool3dSamePadding(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.Mixed_5b = InceptionModule(*_INCEPTION_SPECS["Mixed_5b"])
        self.Mixed_5c = InceptionModule(*_INCEPTION_SPECS["Mixed_5c"])
        self.avg_pool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=(1, 1, 1))
        # pytorch-i3d passes the *keep* probability as the drop probability; both are 0.5 by default.
        self.dropout = nn.Dropout(dropout_keep_prob)
        self.logits = self._make_logits(num_classes)

    @staticmethod
    def _make_logits(num_classes: int) -> Unit3D:
        return Unit3D(FEATURE_DIM, num_classes, activation_fn=None, use_batch_norm=False, use_bias=True)

    def replace_logits(self, num_classes: int) -> None:
        """New randomly initialised classifier, as pytorch-i3d offers for fine-tuning."""
        self.num_classes = num_classes
        self.logits = self._make_logits(num_classes)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """``Mixed_5c`` activations: ``(N, C, T, H, W) -> (N, 1024, ceil(T/8), ceil(H/32), ceil(W/32))``."""
        for name in self.VALID_ENDPOINTS:
            x = getattr(self, name)(x)
        return x

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """Clip embedding ``(N, 1024)``: ``Mixed_5c`` averaged over time, height and width."""
        return self.feature_map(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """pytorch-i3d's logits ``(N, num_classes, T')`` for 224x224 input (``(N, classes, T', 1, 1)`` unsqueezed)."""
        x = self.logits(self.dropout(self.avg_pool(self.feature_map(x))))
        return x.squeeze(3).squeeze(3) if self.spatial_squeeze else x
