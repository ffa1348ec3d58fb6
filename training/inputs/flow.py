"""Dense optical flow between consecutive frames, packed for the two flow backbones.

Algorithm: TV-L1 (``cv2.optflow.DualTVL1OpticalFlow_create``, from opencv-contrib) when available, the
method both TSN and I3D computed their flow with; otherwise Farnebäck, which is ~30x faster on CPU but
smoother and less accurate at motion boundaries. TV-L1 costs about 1 s per 224x224 frame pair on this
machine's two cores, so ``method="farneback"`` is offered for quick runs; the choice is recorded by
the caller with the cached features because the two are not interchangeable.

Conventions (both packings): flow is computed on greyscale frames from frame ``t`` to ``t + 1``;
channel x is the horizontal displacement (positive = content moves right), y the vertical (positive =
down), in pixels. Values are truncated to [-20, 20] and divided by 20 into [-1, 1], the kinetics-i3d /
pytorch-i3d preprocessing (and TSN's bound of 20 before its uint8 encoding).

* :func:`flow_stack` - the ResNet flow stream's ``(2 * n_pairs, H, W)`` volume with x and y
  interleaved per frame pair (x1, y1, x2, y2, ...), TSN's stacking.
* :func:`i3d_flow_clip` - pytorch-i3d's ``(2, T - 1, H, W)`` channels-first clip (x then y).
* :func:`flow_images` - each flow field as a 3-channel image (x, y, magnitude) for an RGB network,
  the frozen flow stream's encoding (see the function for why).

OpenCV is imported here only, so importing the rest of the project (Django included) never loads it.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

import cv2
import numpy as np

FLOW_BOUND = 20.0
Method = Literal["auto", "tvl1", "farneback"]


def tvl1_available() -> bool:
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def _greyscale(frames: np.ndarray) -> np.ndarray:
    array = np.asarray(frames)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"expected uint8 RGB frames of shape (T, H, W, 3), got {array.dtype} {array.shape}")
    return np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in array])


def _resolve(method: Method) -> Literal["tvl1", "farneback"]:
    if method == "auto":
        return "tvl1" if tvl1_available() else "farneback"
    if method == "tvl1" and not tvl1_available():
        raise RuntimeError("TV-L1 needs opencv-contrib (cv2.optflow); install opencv-contrib-python-headless")
    if method not in ("tvl1", "farneback"):
        raise ValueError(f"unknown optical-flow method {method!r}; use 'auto', 'tvl1' or 'farneback'")
    return method


def optical_flow(frames: np.ndarray, *, method: Method = "auto") -> np.ndarray:
    """Raw flow in pixels, ``(T - 1, H, W, 2)`` float32, between each pair of consecutive frames."""
    grey = _greyscale(frames)
    if len(grey) < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got {len(grey)}")
    resolved = _resolve(method)
    if resolved == "tvl1":
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        fields = [tvl1.calc(a, b, None) for a, b in pairwise(grey)]
    else:
        # OpenCV's documented example parameters: 3-level pyramid halving each level, 15 px window.
        fields = [cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0) for a, b in pairwise(grey)]
    return np.stack(fields).astype(np.float32)


def scale_flow(flow: np.ndarray) -> np.ndarray:
    """Truncate to +-20 px and map to [-1, 1]."""
    return np.clip(flow, -FLOW_BOUND, FLOW_BOUND) / FLOW_BOUND


def flow_pairs(
    frames: np.ndarray, n_pairs: int = 10, *, start: int | None = None, method: Method = "auto"
) -> np.ndarray:
    """Scaled flow of ``n_pairs`` consecutive frame pairs: ``(n_pairs, 2, H, W)`` float32 in [-1, 1] (x, y).

    Uses ``n_pairs + 1`` consecutive frames beginning at ``start`` (default: centred in the clip, the
    frame a single-frame RGB stream would also look at).
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be positive, got {n_pairs}")
    needed = n_pairs + 1
    if len(frames) < needed:
        raise ValueError(f"{n_pairs} flow pairs need {needed} frames, got {len(frames)}")
    if start is None:
        start = (len(frames) - needed) // 2
    if not 0 <= start <= len(frames) - needed:
        raise ValueError(f"start={start} leaves fewer than {needed} frames in a clip of {len(frames)}")
    flow = scale_flow(optical_flow(frames[start : start + needed], method=method))  # (n_pairs, H, W, 2)
    return np.ascontiguousarray(flow.transpose(0, 3, 1, 2))


def flow_stack(
    frames: np.ndarray, n_pairs: int = 10, *, start: int | None = None, method: Method = "auto"
) -> np.ndarray:
    """The flow ResNet's input: ``(2 * n_pairs, H, W)`` float32 in [-1, 1], channels x1, y1, x2, y2, ...

    Same frames as :func:`flow_pairs`; x and y of a pair stay adjacent (TSN's stacking).
    """
    pairs = flow_pairs(frames, n_pairs, start=start, method=method)
    return pairs.reshape(2 * n_pairs, *pairs.shape[2:])


def flow_images(pairs: np.ndarray) -> np.ndarray:
    """Each scaled flow field ``(P, 2, H, W)`` as an image ``(P, 3, H, W)`` in [0, 1]: (x, y, magnitude).

    The encoding of Gkioxari & Malik (*Finding action tubes*, CVPR 2015), who fed flow to an
    ImageNet network as a 3-channel image of the x and y displacements and their magnitude. Here x and
    y map [-1, 1] to [0, 1] (0.5 = no motion) and the magnitude ``sqrt(x^2 + y^2)`` is capped at 1.
    Through a *frozen* RGB network this keeps what the replicated 20-channel stem loses: the stem sees
    only the sum of all flow channels, so a rightward and a downward pan (or a diagonal one and none)
    look the same, whereas here each direction is its own colour (right = high R, left = low R, down =
    high G, up = low G) and motion of any direction raises B.
    """
    array = np.asarray(pairs, dtype=np.float32)
    if array.ndim != 4 or array.shape[1] != 2:
        raise ValueError(f"expected flow fields of shape (P, 2, H, W), got {array.shape}")
    magnitude = np.minimum(1.0, np.sqrt(array[:, 0] ** 2 + array[:, 1] ** 2))
    return np.ascontiguousarray(np.stack([0.5 + 0.5 * array[:, 0], 0.5 + 0.5 * array[:, 1], magnitude], axis=1))


def i3d_flow_clip(frames: np.ndarray, *, method: Method = "auto") -> np.ndarray:
    """pytorch-i3d flow input ``(2, T - 1, H, W)`` float32 in [-1, 1] from ``T`` frames; add a batch axis for the model."""
    flow = scale_flow(optical_flow(frames, method=method))  # (T - 1, H, W, 2)
    return np.ascontiguousarray(flow.transpose(3, 0, 1, 2))
