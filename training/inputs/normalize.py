"""ImageNet normalisation, the input statistics the torchvision ResNet-50 weights were trained with."""

from __future__ import annotations

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_frames(frames: np.ndarray) -> torch.Tensor:
    """uint8 RGB ``(T, H, W, 3)`` (or one ``(H, W, 3)`` frame) -> float32 ``(T, 3, H, W)``: ``(x / 255 - mean) / std``."""
    array = np.asarray(frames)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB frames, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, H, W, 3), got {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float().div_(255.0)
    return normalize_images(tensor)


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """Float ``(N, 3, H, W)`` images in [0, 1] -> ImageNet-normalised ``(x - mean) / std`` (on their device)."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (N, 3, H, W), got {tuple(images.shape)}")
    mean = torch.tensor(IMAGENET_MEAN, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std
