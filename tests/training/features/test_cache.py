from __future__ import annotations

import numpy as np
import pytest

from tests.training.fakes import NpyExtractor, planted_feature_export
from training.data.export import read_export
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.features.store import Stream, compute_features


def _streams():
    return [
        Stream("rgb", "clip", NpyExtractor("fake-rgb", 8)),
        Stream("audio", "excerpt", NpyExtractor("fake-audio", 6)),
    ]


def test_features_are_computed_once_then_served_from_the_cache(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=4, n_tracks=4, trials_per_video=1))
    cache = FeatureCache(tmp_path / "cache")
    needed = {"clip": [1, 2, 3, 4], "excerpt": [1, 2]}
    streams = _streams()
    first = compute_features(export, needed, streams, cache, progress=False)
    assert [s.extractor.calls for s in streams] == [4, 2]
    again = _streams()
    second = compute_features(export, needed, again, cache, progress=False)
    assert [s.extractor.calls for s in again] == [0, 0]
    np.testing.assert_array_equal(first.matrix("clip", [1, 2, 3, 4]), second.matrix("clip", [1, 2, 3, 4]))
    assert first.matrix("clip", [3]).shape == (1, 8)
    assert first.matrix("excerpt", [1, 2], pooling="mean-std").shape == (2, 12)


def test_changed_extractor_config_misses_the_cache(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=3, n_tracks=2, trials_per_video=1))
    cache = FeatureCache(tmp_path / "cache")
    compute_features(
        export, {"clip": [1, 2]}, [Stream("rgb", "clip", NpyExtractor("fake-rgb", 8))], cache, progress=False
    )
    changed = NpyExtractor("fake-rgb", 8, version=2)
    compute_features(export, {"clip": [1, 2]}, [Stream("rgb", "clip", changed)], cache, progress=False)
    assert changed.calls == 2


def test_entries_are_keyed_by_content_and_corrupt_ones_are_recomputed(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=3, n_tracks=2, trials_per_video=1))
    cache = FeatureCache(tmp_path / "cache")
    extractor = NpyExtractor("fake-rgb", 8)
    compute_features(export, {"clip": [1]}, [Stream("rgb", "clip", extractor)], cache, progress=False)
    entry = cache.entry(extractor, export.media_path("clip", 1))
    assert entry.name == f"{cache.media_sha(export.media_path('clip', 1))}.npy"
    assert (entry.parent / "config.json").exists()
    assert not list(entry.parent.glob("*.tmp"))  # atomic writes leave no temporaries
    entry.write_bytes(b"truncated")
    fresh = NpyExtractor("fake-rgb", 8)
    compute_features(export, {"clip": [1]}, [Stream("rgb", "clip", fresh)], cache, progress=False)
    assert fresh.calls == 1
    assert np.load(entry).shape == (3, 8)


def test_missing_media_fails_before_any_extraction(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=3, n_tracks=2, trials_per_video=1))
    export.media_path("clip", 2).unlink()
    extractor = NpyExtractor("fake-rgb", 8)
    with pytest.raises(TrainingInputError, match="1 media file"):
        compute_features(
            export, {"clip": [1, 2]}, [Stream("rgb", "clip", extractor)], FeatureCache(tmp_path / "c"), progress=False
        )
    assert extractor.calls == 0


def test_extractor_failure_names_the_file_and_keeps_earlier_work(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=3, n_tracks=2, trials_per_video=1))
    export.media_path("clip", 2).write_bytes(b"not an array")
    cache = FeatureCache(tmp_path / "cache")
    extractor = NpyExtractor("fake-rgb", 8)
    with pytest.raises(TrainingInputError, match="clip 2"):
        compute_features(export, {"clip": [1, 2, 3]}, [Stream("rgb", "clip", extractor)], cache, progress=False)
    assert cache.load(extractor, export.media_path("clip", 1)) is not None
