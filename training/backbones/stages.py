"""Which parts of a backbone train when fine-tuning from a chosen stage (``--train-from``).

Every visual backbone is cut into the same five stages, by output stride, so one flag means the same
depth for ResNet-50 and I3D:

=======  ==============================  =========================================
stage    ResNet-50 (RGB and flow)        I3D (flow)
=======  ==============================  =========================================
conv1    ``conv1``, ``bn1`` (stride 2)    ``Conv3d_1a_7x7`` (stride 2)
layer1   ``layer1`` (stride 4)            ``Conv3d_2b_1x1``, ``Conv3d_2c_3x3`` (4)
layer2   ``layer2`` (stride 8)            ``Mixed_3b``, ``Mixed_3c`` (8)
layer3   ``layer3`` (stride 16)           ``Mixed_4b`` ... ``Mixed_4f`` (16)
layer4   ``layer4`` (stride 32)           ``Mixed_5b``, ``Mixed_5c`` (32)
head     nothing: the backbone stays frozen, only the preference head trains
=======  ==============================  =========================================

``--train-from conv1`` is end-to-end fine-tuning; ``layer3`` trains layer3, layer4 and the head.
BatchNorm layers keep their pretrained running statistics (eval mode; "frozen BN", as detection and
video models are usually fine-tuned): fine-tuning batches are small and, under DDP, split over
processes, so batch statistics would be noisy and differ from one process count to another; the
network computes the same function in training and evaluation. BN scales and shifts train with
their stage. (TSN's *partial BN* also re-estimates the first layer's statistics; with frozen
statistics that layer's affine parameters still adapt the stem to flow input.)
"""

from __future__ import annotations

from torch import nn

from training.backbones.i3d import InceptionI3d
from training.backbones.resnet import ResNet
from training.errors import TrainingInputError

STAGES = ("conv1", "layer1", "layer2", "layer3", "layer4", "head")

_I3D_STAGES = {
    "conv1": ("Conv3d_1a_7x7",),
    "layer1": ("Conv3d_2b_1x1", "Conv3d_2c_3x3"),
    "layer2": ("Mixed_3b", "Mixed_3c"),
    "layer3": ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"),
    "layer4": ("Mixed_5b", "Mixed_5c"),
}


def stage_modules(backbone: nn.Module) -> dict[str, list[nn.Module]]:
    """The backbone's modules per stage (``head`` excluded: it is not part of a backbone)."""
    if isinstance(backbone, ResNet):
        return {
            "conv1": [backbone.conv1, backbone.bn1],
            "layer1": [backbone.layer1],
            "layer2": [backbone.layer2],
            "layer3": [backbone.layer3],
            "layer4": [backbone.layer4],
        }
    if isinstance(backbone, InceptionI3d):
        return {stage: [getattr(backbone, name) for name in names] for stage, names in _I3D_STAGES.items()}
    raise TypeError(f"no stage map for {type(backbone).__name__}")


def set_trainable(backbone: nn.Module, train_from: str) -> list[nn.Parameter]:
    """Freeze the stages before ``train_from`` and unfreeze the rest; return the trainable parameters."""
    if train_from not in STAGES:
        raise TrainingInputError(f"--train-from must be one of {', '.join(STAGES)}, not {train_from!r}.")
    backbone.requires_grad_(False)
    stages = stage_modules(backbone)
    trainable: list[nn.Parameter] = []
    for stage in STAGES[STAGES.index(train_from) : -1]:
        for module in stages[stage]:
            module.requires_grad_(True)
            trainable += list(module.parameters())
    return trainable


def freeze_batchnorm_statistics(backbone: nn.Module) -> None:
    """Every BN layer in eval mode (running statistics used and kept), whatever mode the rest is in."""
    for module in backbone.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
