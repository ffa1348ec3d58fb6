"""Pretrained-compatible backbones in plain torch (no torchvision/torchaudio on this stack).

Each module reproduces a public reference implementation closely enough that its published
checkpoint loads with ``strict=True``: torchvision's ResNet-50, piergiaj's pytorch-i3d InceptionI3d
and harritaylor's torchvggish. Loading lives in :mod:`training.weights`.
"""

from training.backbones.flow_stem import cross_modality_conv_weight, flow_resnet50_from_rgb
from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import ResNet, resnet50
from training.backbones.vggish import VGGish

__all__ = [
    "InceptionI3d",
    "ResNet",
    "VGGish",
    "cross_modality_conv_weight",
    "flow_resnet50_from_rgb",
    "resnet50",
]
