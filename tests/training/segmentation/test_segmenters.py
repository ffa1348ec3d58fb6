"""Segmenters recover the planted section changes of real media; the shot rule and span cutting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.errors import TrainingInputError
from training.segmentation import build_segmenter, spans
from training.segmentation.base import from_cache_array
from training.segmentation.music import checkerboard_kernel
from training.segmentation.video import cuts_from_scores

TOLERANCE_S = 0.3


def _recall_and_extra(found: np.ndarray, truth: np.ndarray) -> tuple[float, int]:
    if len(found) == 0:
        return 0.0, -len(truth)
    distance = np.abs(found[:, None] - truth[None, :])
    return float(np.mean(distance.min(axis=0) <= TOLERANCE_S)), len(found) - len(truth)


@pytest.mark.parametrize(("name", "kind"), [("foote", "soundtrack"), ("flux", "soundtrack"), ("shots", "clip")])
def test_segmenters_find_the_planted_section_changes(planted_av, name, kind):
    directory, truth = planted_av
    segmenter = build_segmenter(name)
    recalls, extras = [], []
    for clip_id in (1, 2, 3, 4):
        suffix = "flac" if kind == "soundtrack" else "mp4"
        found = from_cache_array(segmenter.extract(directory / "media" / f"{kind}{clip_id:03d}.{suffix}"))
        recall, extra = _recall_and_extra(found, truth[clip_id])
        recalls.append(recall)
        extras.append(extra)
    assert np.mean(recalls) >= 0.85, (name, recalls)
    assert max(abs(e) for e in extras) <= 1, (name, extras)


def test_fixed_windows_and_bad_specs():
    windows = build_segmenter({"name": "fixed", "window_s": 2.0})
    assert spans(windows.change_points_for(6.8), 6.8, min_segment_s=windows.min_segment_s) == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 6.8),  # the 0.8 s remainder (under half a window) joins the last window
    ]
    with pytest.raises(TrainingInputError, match="segmenter must be one of"):
        build_segmenter("olda")
    with pytest.raises(TrainingInputError, match="foote"):
        build_segmenter({"name": "foote", "colour": 1})


@given(
    st.lists(st.floats(-5, 40, allow_nan=False), max_size=30),
    st.floats(0.5, 30),
    st.floats(0, 3),
)
def test_spans_tile_the_item_and_respect_the_minimum_length(points, duration, minimum):
    result = spans(np.array(points), duration, min_segment_s=minimum)
    assert result[0][0] == 0.0 and result[-1][1] == duration
    assert all(a[1] == b[0] for a, b in itertools.pairwise(result))
    if len(result) > 1:
        assert all(end - start >= minimum - 1e-9 for start, end in result)


def test_shot_rule_threshold_and_adaptive_ratio():
    rule = {"threshold": 27.0, "adaptive": 3.0, "min_content": 15.0, "window": 2, "min_gap": 3}
    calm = np.full(30, 4.0)
    calm[10] = 16.0  # >= min_content and >= 3 x its neighbours: an adaptive cut
    calm[20] = 40.0  # above the fixed threshold
    assert cuts_from_scores(calm, **rule).tolist() == [10, 20]
    busy = np.full(30, 10.0)
    busy[10] = 16.0  # not 3 x the local motion: no cut
    assert cuts_from_scores(busy, **rule).tolist() == []
    close = np.full(30, 2.0)
    close[[10, 11]] = 50.0  # a second cut within min_gap frames is suppressed
    assert cuts_from_scores(close, **rule).tolist() == [10]


def test_checkerboard_kernel_sums_to_zero_and_flags_a_change():
    from training.segmentation.music import foote_novelty

    kernel = checkerboard_kernel(5)
    assert abs(kernel.sum()) < 1e-12 and kernel[0, 0] > 0 and kernel[0, -1] < 0
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 0.1, (40, 6)) + 1, rng.normal(0, 0.1, (40, 6)) - 1])
    novelty = foote_novelty(features, 8)
    assert abs(int(np.argmax(novelty)) - 40) <= 1
