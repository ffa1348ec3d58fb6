"""Segmenters for the segment level (Seg-VM-Net §IV-B): music structure, video shots, fixed windows.

============  ========  ================================================================
name          reads     boundaries
============  ========  ================================================================
``foote``     audio     Foote's checkerboard novelty on a self-similarity matrix (:mod:`.music`)
``flux``      audio     spectral-flux novelty at the scale of sections (:mod:`.music`)
``shots``     video     shot cuts, content detector with adaptive threshold (:mod:`.video`)
``fixed``     nothing   consecutive windows of ``window_s`` seconds (default 2)
============  ========  ================================================================

As in the seed, a music video is segmented on one modality and the same boundaries are applied to
the other. A spec is a name or ``{"name": ..., options}`` (e.g. ``{"name": "foote", "kernel_s": 3}``).
"""

from __future__ import annotations

import numpy as np

from training.errors import TrainingInputError
from training.segmentation.base import spans

SEGMENTERS = ("foote", "flux", "shots", "fixed")

__all__ = ["SEGMENTERS", "FixedWindows", "build_segmenter", "segmenter_label", "spans"]


class FixedWindows:
    """Windows of ``window_s`` seconds (the last one takes the remainder); needs no media."""

    name = "fixed"
    modality = None
    dim = 1
    cacheable = False

    def __init__(self, *, window_s: float = 2.0) -> None:
        if not window_s > 0:
            raise TrainingInputError("fixed windows need window_s > 0.")
        self.window_s = float(window_s)
        self.min_segment_s = 0.5 * self.window_s

    def config(self) -> dict:
        return {"window_s": self.window_s}

    def change_points_for(self, duration_s: float) -> np.ndarray:
        return np.arange(self.window_s, duration_s, self.window_s)


def segmenter_label(spec: str | dict) -> str:
    if isinstance(spec, str):
        return spec
    return str(spec.get("label") or spec.get("name"))


def build_segmenter(spec: str | dict):
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or spec.get("name") not in SEGMENTERS:
        name = spec.get("name") if isinstance(spec, dict) else spec
        raise TrainingInputError(f"segmenter must be one of {', '.join(SEGMENTERS)}, not {name!r}.")
    options = {k: v for k, v in spec.items() if k not in ("name", "label")}
    from training.segmentation.music import FluxSegmenter, FooteSegmenter
    from training.segmentation.video import ShotSegmenter

    cls = {"foote": FooteSegmenter, "flux": FluxSegmenter, "shots": ShotSegmenter, "fixed": FixedWindows}[spec["name"]]
    try:
        return cls(**options)
    except TypeError as exc:
        raise TrainingInputError(f"segmenter {spec['name']!r}: {exc}") from None
