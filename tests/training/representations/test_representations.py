"""Representations: the handcrafted descriptors, precomputed embedding files, VGGish, colour; aggregation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from mvfit_common.files import sha256_of
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.representations import build_representation
from training.representations.base import aggregate, aggregate_spans, frames_of_spans, span_rows
from training.representations.handcrafted import BLOCKS, DIM, HOP, SAMPLE_RATE
from training.representations.precomputed import EmbeddingDirectory


def _offsets() -> dict[str, slice]:
    out, start = {}, 0
    for name, width in BLOCKS:
        out[name] = slice(start, start + width)
        start += width
    return out


def _tone(path, frequency: float, seconds: float = 2.0, clicks_bpm: float | None = None) -> None:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    y = 0.3 * np.sin(2 * np.pi * frequency * t)
    if clicks_bpm:
        period = int(SAMPLE_RATE * 60 / clicks_bpm)
        y[::period] += 0.9
    soundfile.write(str(path), y.astype(np.float32), SAMPLE_RATE)


def test_handcrafted_descriptors_measure_pitch_brightness_and_tempo(tmp_path):
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    _tone(low, 220.0, seconds=6.0, clicks_bpm=120)
    _tone(high, 1760.0, seconds=6.0)
    representation = build_representation("handcrafted", modality="audio")
    assert (representation.dim, representation.modality, representation.hop_s) == (DIM, "audio", HOP / SAMPLE_RATE)
    a, b = representation.extract(low), representation.extract(high)
    assert a.shape[1] == DIM and abs(len(a) - 6.0 / representation.hop_s) <= 2
    at = _offsets()
    # A (220 / 1760 Hz) is pitch class 9 in librosa's chroma (C = 0).
    assert int(np.argmax(a[:, at["chroma_stft"]].mean(axis=0))) == 9
    assert int(np.argmax(b[:, at["chroma_cens"]].mean(axis=0))) == 9
    assert np.median(b[:, at["centroid"]]) > 3 * np.median(a[:, at["centroid"]])  # clicks aside: brighter
    assert np.median(a[:, at["tempo"]]) == pytest.approx(120, rel=0.05)
    stats = aggregate(a, "mean-var-max")
    assert stats.shape == (3 * DIM,)
    np.testing.assert_allclose(stats[:DIM], a.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats[2 * DIM :], a.max(axis=0), rtol=1e-6)


def test_aggregation_over_spans():
    frames = np.arange(20, dtype=np.float32).reshape(10, 2)  # 10 rows, 0.5 s apart
    assert span_rows(10, 0.5, 1.0, 2.0).tolist() == [2, 3]  # centres 1.25 and 1.75
    assert span_rows(10, 0.5, 1.1, 1.2).tolist() == [2]  # no centre inside: the nearest row
    np.testing.assert_allclose(aggregate_spans(frames, 0.5, [(0, 1), (1, 2)], "mean"), [[1, 2], [5, 6]])
    repeated = frames_of_spans(frames, 0.5, [(0, 1), (0, 1)])
    assert repeated.shape == (4, 2)  # a span listed twice counts twice
    with pytest.raises(TrainingInputError, match="aggregation"):
        aggregate(frames, "median")


def test_precomputed_embeddings_are_read_by_media_content(tmp_path):
    media = [tmp_path / f"track{i}.wav" for i in range(2)]
    for i, path in enumerate(media):
        _tone(path, 300.0 + 100 * i, seconds=1.0)
    store = EmbeddingDirectory.create(
        tmp_path / "openl3", name="openl3-music-512", modality="audio", dim=8, hop_s=0.1, description="test fixture"
    )
    arrays = [np.random.default_rng(i).normal(size=(5 + i, 8)).astype(np.float32) for i in range(2)]
    for path, array in zip(media, arrays, strict=True):
        written = store.write(path, array)
        assert written.name == f"{sha256_of(path)}.npy"
    representation = build_representation({"name": "precomputed", "path": str(tmp_path / "openl3")}, modality="audio")
    assert (representation.name, representation.dim, representation.hop_s) == ("precomputed-openl3-music-512", 8, 0.1)
    assert representation.cacheable is False
    for path, array in zip(media, arrays, strict=True):
        np.testing.assert_array_equal(representation.extract(path), array)
    # Moving the media does not matter (keyed by content); changing it does.
    moved = tmp_path / "elsewhere.wav"
    moved.write_bytes(media[0].read_bytes())
    np.testing.assert_array_equal(representation.extract(moved), arrays[0])
    _tone(moved, 999.0, seconds=1.0)
    with pytest.raises(TrainingInputError, match="no openl3-music-512 embeddings"):
        representation.extract(moved)
    with pytest.raises(TrainingInputError, match="holds audio embeddings"):
        build_representation({"name": "precomputed", "path": str(tmp_path / "openl3")}, modality="video")
    with pytest.raises(TrainingInputError, match=r"expected \(T >= 1, 8\)"):
        store.write(media[0], np.zeros((3, 7)))


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"format": "other"}, "must say"),
        ({"format": "mvfit-embeddings", "format_version": 1, "name": "x", "modality": "audio", "dim": 4}, "hop_s"),
        (
            {
                "format": "mvfit-embeddings",
                "format_version": 1,
                "name": "bad name",
                "modality": "audio",
                "dim": 4,
                "hop_s": 1,
            },
            "must match",
        ),
        (
            {"format": "mvfit-embeddings", "format_version": 1, "name": "x", "modality": "audio", "dim": 0, "hop_s": 1},
            "dim",
        ),
    ],
)
def test_bad_embedding_manifests_are_refused(tmp_path, manifest, message):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TrainingInputError, match=message):
        EmbeddingDirectory.open(tmp_path)


def test_corrupt_embedding_file_is_a_clear_error(tmp_path):
    media = tmp_path / "a.wav"
    _tone(media, 440.0, seconds=0.5)
    store = EmbeddingDirectory.create(tmp_path / "emb", name="x", modality="audio", dim=2, hop_s=0.5)
    store.entry(media).write_bytes(b"not numpy")
    with pytest.raises(TrainingInputError, match="not a readable"):
        store.read(media)
    np.save(store.entry(media), np.full((2, 2), np.nan))
    with pytest.raises(TrainingInputError, match="finite"):
        store.read(media)
    # A pickled array would run code when loaded: it is refused, never unpickled.
    np.save(store.entry(media), np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(TrainingInputError, match="not a readable"):
        store.read(media)


def test_vggish_and_colour_have_times_and_cache(tmp_path, planted_av):
    from training.features.extractors import BackboneSettings

    directory, _ = planted_av
    vggish = build_representation("vggish", modality="audio", settings=BackboneSettings(random_init=True))
    assert (vggish.name, vggish.dim, vggish.hop_s) == ("vggish", 128, 0.96)
    rows = vggish.extract(directory / "media" / "soundtrack001.flac")
    assert rows.shape[1] == 128 and len(rows) >= 4
    colour = build_representation({"name": "colour", "fps": 4, "size": 32}, modality="video")
    frames = colour.extract(directory / "media" / "clip001.mp4")
    assert frames.shape[1] == 129 and colour.hop_s == 0.25
    np.testing.assert_allclose(frames[:, :128].sum(axis=1), 1.0, rtol=1e-5)
    cache = FeatureCache(tmp_path / "cache")
    cache.store(colour, directory / "media" / "clip001.mp4", frames)
    np.testing.assert_array_equal(cache.load(colour, directory / "media" / "clip001.mp4"), frames)
    resnet = build_representation(
        "rgb-resnet50", modality="video", settings=BackboneSettings(random_init=True, frame_size=32, rgb_fps=2.0)
    )
    rows = resnet.extract(directory / "media" / "clip001.mp4")
    # Frames over the whole 13.3 s clip (not Langlois' first 16), half a second apart.
    assert resnet.hop_s == 0.5 and rows.shape[1] == 2048 and len(rows) >= 25
    with pytest.raises(TrainingInputError, match="audio representation must be one of"):
        build_representation("colour", modality="audio")
    with pytest.raises(TrainingInputError, match="no VGGish weights"):
        build_representation("vggish", modality="audio", settings=BackboneSettings())
