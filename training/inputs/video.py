"""Sample RGB frames from a prepared clip at a fixed rate and square size.

Langlois' visual streams see frames of the 5 s clip; ImageNet backbones expect square crops, so each
frame is scaled until its *shorter* side equals ``size`` and centre-cropped to ``size x size`` (no
aspect distortion, as the standard ImageNet evaluation crop). ffmpeg's ``fps`` filter does the temporal
sampling, so a 30 fps source read at ``fps=10`` gives every third frame, and a variable-frame-rate
source still gives evenly spaced frames.
"""

from __future__ import annotations

import os

import numpy as np

from training.inputs.ffmpeg import decode


def read_frames(path: str | os.PathLike[str], *, fps: float, size: int, max_frames: int | None = None) -> np.ndarray:
    """Frames ``(T, size, size, 3)`` uint8 RGB sampled at ``fps`` from the start of the file.

    ``max_frames`` stops decoding early (cheaper than decoding everything and slicing).
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size!r}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be positive when given, got {max_frames!r}")
    video_filter = (
        f"fps={fps},scale={size}:{size}:force_original_aspect_ratio=increase:flags=bicubic,crop={size}:{size}"
    )
    args = ["-an", "-vf", video_filter]
    if max_frames is not None:
        args += ["-frames:v", str(max_frames)]
    raw = decode(path, [*args, "-f", "rawvideo", "-pix_fmt", "rgb24"], stream="video")
    frame_bytes = size * size * 3
    if len(raw) < frame_bytes:
        raise ValueError(f"{path} has no decodable video frames")
    return np.frombuffer(raw[: len(raw) - len(raw) % frame_bytes], dtype=np.uint8).reshape(-1, size, size, 3)
