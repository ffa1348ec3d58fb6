"""ResNet-50 as torchvision builds it, so torchvision's ImageNet checkpoint loads strictly.

Langlois (2019, §3) replaces the VGG image network of the audio-visual embedding model with an
ImageNet ResNet-50. torchvision is not available on this stack, so this module rebuilds
``torchvision.models.resnet50`` module for module. What has to match for a strict load:

* attribute names (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``/``.1``, ``fc``),
  because they become the state-dict keys;
* the "ResNet v1.5" placement of the stride on the 3x3 convolution of a bottleneck (not the 1x1),
  which changes no shapes but does change the features a checkpoint was trained to produce;
* bias-free convolutions followed by BatchNorm (eps 1e-5, momentum 0.1).

The initialisation also follows torchvision (He-normal fan-out for convolutions, BN weight 1 / bias 0)
so a randomly initialised model behaves like an untrained torchvision one in tests.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

# Blocks per stage of ResNet-50 (He et al. 2016, Table 1).
RESNET50_LAYERS = (3, 4, 6, 3)
FEATURE_DIM = 2048


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carries the stride) -> 1x1 expand, plus the identity/projection shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision-compatible bottleneck ResNet.

    ``in_channels`` exists for the optical-flow stream, whose first convolution takes a stacked flow
    volume (see :mod:`training.backbones.flow_stem`); every other shape is the ImageNet one.
    """

    def __init__(
        self, layers: tuple[int, int, int, int] = RESNET50_LAYERS, num_classes: int = 1000, in_channels: int = 3
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.in_channels = in_channels
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        self._init_weights()

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            # The projection shortcut: its keys are ``downsample.0`` (conv) and ``downsample.1`` (BN).
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * Bottleneck.expansion, stride),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        modules = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        modules += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*modules)

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled activations before ``fc``: ``(N, C, H, W) -> (N, 2048)``.

        This is the embedding the preference model uses; any spatial size >= 32x32 works because the
        pooling is adaptive.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)``, as torchvision returns them."""
        return self.fc(self.forward_features(x))


def resnet50(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """A randomly initialised ResNet-50 (25,557,032 parameters with 1000 classes and RGB input)."""
    return ResNet(RESNET50_LAYERS, num_classes=num_classes, in_channels=in_channels)


def fuse_batchnorm(model: ResNet) -> ResNet:
    """An inference copy with every BatchNorm folded into the convolution before it (``fuse_conv_bn_eval``).

    The folded network computes the same function up to float rounding (max relative difference
    ~1e-6 on the 2048-D features) with one memory pass fewer per layer; only for frozen extraction,
    because the BN statistics become part of the conv weights. The state-dict keys of the copy differ
    (no ``bn*``), so it is never saved or loaded.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(model).eval()
    fused.conv1, fused.bn1 = fuse_conv_bn_eval(fused.conv1, fused.bn1), nn.Identity()
    for layer in (fused.layer1, fused.layer2, fused.layer3, fused.layer4):
        for block in layer:
            for index in (1, 2, 3):
                conv, bn = getattr(block, f"conv{index}"), getattr(block, f"bn{index}")
                setattr(block, f"conv{index}", fuse_conv_bn_eval(conv, bn))
                setattr(block, f"bn{index}", nn.Identity())
            if block.downsample is not None:
                block.downsample = nn.Sequential(fuse_conv_bn_eval(block.downsample[0], block.downsample[1]))
    return fused
