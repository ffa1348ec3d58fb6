"""The optical-flow ResNet-50: an ImageNet ResNet whose first convolution reads a stacked flow volume.

Langlois (2019, §3) adds a second ResNet-50 stream for optical flow and "modif[ies] the first
convolution to take in a 20-dimensional volume rather than the typical 3-D RGB volume by replicating
the filter weights". The paper does not spell out the replication, so we use the standard rule it
echoes, the *cross-modality initialisation* of Temporal Segment Networks (Wang et al., ECCV 2016, §3.2):

    "we first average the weights across the RGB channels and replicate this average by the channel
    number of temporal network input."

Concretely, for every output filter ``o`` and every flow channel ``c`` in ``0..19``::

    W_flow[o, c, :, :] = mean(W_rgb[o, 0:3, :, :])

Why this rule rather than the alternatives:

* Copying the R, G, B slices cyclically (R, G, B, R, G, ...) would make the x and y flow channels of
  one frame see different colour filters, an arbitrary asymmetry between flow components; flow has no
  colour, and the channel mean is the filter's response to a grey (luminance-like) input.
* We do not divide by 20/3 to preserve activation scale: TSN does not, the following BatchNorm
  re-normalises during fine-tuning, and keeping the published rule makes results comparable.
  The consequence is tested numerically: on a volume whose 20 channels all equal an image ``g``, the
  flow conv1 output is exactly ``20/3`` times the RGB conv1 output on ``(g, g, g)``.

All other weights (BN statistics included) are copied unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from training.backbones.resnet import ResNet, resnet50

FLOW_FRAMES = 10
FLOW_CHANNELS = 2 * FLOW_FRAMES  # x and y displacement per frame, interleaved as in TSN


def cross_modality_conv_weight(rgb_weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """TSN cross-modality rule: average a conv weight over its input channels, replicate ``in_channels`` times.

    ``rgb_weight`` has shape ``(out, 3, kh, kw)``; the result has shape ``(out, in_channels, kh, kw)``.
    """
    if rgb_weight.dim() != 4:
        raise ValueError(f"expected a 4-D conv weight (out, in, kh, kw), got shape {tuple(rgb_weight.shape)}")
    if in_channels < 1:
        raise ValueError(f"in_channels must be positive, got {in_channels}")
    mean = rgb_weight.mean(dim=1, keepdim=True)
    return mean.expand(-1, in_channels, -1, -1).clone()


def flow_resnet50_from_rgb(
    rgb_state_dict_or_model: Mapping[str, torch.Tensor] | nn.Module, in_channels: int = FLOW_CHANNELS
) -> ResNet:
    """Build the flow-stream ResNet-50 from an RGB ResNet-50 (model or torchvision-format state dict).

    The RGB source is not modified. ``fc`` is carried over too (it is unused by ``forward_features``
    but keeps the state dict complete so the flow model can be saved and re-loaded strictly).
    """
    if isinstance(rgb_state_dict_or_model, nn.Module):
        rgb_state = rgb_state_dict_or_model.state_dict()
    else:
        rgb_state = dict(rgb_state_dict_or_model)
    if "conv1.weight" not in rgb_state or "fc.weight" not in rgb_state:
        raise ValueError("not a ResNet state dict: 'conv1.weight' or 'fc.weight' is missing")
    rgb_conv1 = rgb_state["conv1.weight"]
    if rgb_conv1.shape[1] != 3:
        raise ValueError(f"conv1 of the source must take 3 (RGB) channels, got {rgb_conv1.shape[1]}")

    flow_state = {key: value.detach().clone() for key, value in rgb_state.items()}
    flow_state["conv1.weight"] = cross_modality_conv_weight(rgb_conv1.detach(), in_channels)
    model = resnet50(num_classes=rgb_state["fc.weight"].shape[0], in_channels=in_channels)
    model.load_state_dict(flow_state, strict=True)
    return model
