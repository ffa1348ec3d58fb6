"""Music videos of an export as :class:`~training.retrieval.protocol.AVItem` s: features and segments.

A music video is a ground-truth pair of ``stimuli.csv``: an excerpt cut from a music video's
soundtrack and the clip of the same span (``ground_truth_id``). For each pair this module computes
(or reads from the feature cache) the frame features of the excerpt under every audio representation
and of the clip under the video representation, and the segments of every segmenter: music
segmenters read the excerpt, the shot segmenter reads the clip, and — as in Seg-VM-Net — the
boundaries found on one modality are applied to both. The item's duration is the span covered by the
frames of every representation (the shortest).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from training.data.export import read_export
from training.data.items import retrieval_pairs
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.retrieval.protocol import AVItem
from training.segmentation import FixedWindows, spans
from training.segmentation.base import from_cache_array


def load_frames(extractor, path: Path, cache: FeatureCache | None) -> np.ndarray:
    """An extractor's (T, dim) output for one file, through the cache when the extractor allows it."""
    if cache is not None and getattr(extractor, "cacheable", True):
        cached = cache.load(extractor, path)
        if cached is not None:
            return cached
    try:
        array = np.asarray(extractor.extract(path), dtype=np.float32)
    except TrainingInputError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        raise TrainingInputError(f"{extractor.name} could not process {path}: {exc}") from exc
    if array.ndim != 2 or array.shape[1] != extractor.dim or array.shape[0] == 0:
        raise TrainingInputError(
            f"{extractor.name} returned shape {array.shape} for {path}; expected (T>0, {extractor.dim})."
        )
    if cache is not None and getattr(extractor, "cacheable", True):
        cache.store(extractor, path, array)
    return array


def music_video_pairs(export_dir: str | Path, *, media_root: str | Path | None = None) -> list[dict]:
    """[{clip_id, excerpt_id, source, clip_path, excerpt_path}] of every ground-truth pair."""
    export = read_export(export_dir)
    pairs = retrieval_pairs(export, source="ground-truth")
    root = Path(media_root) if media_root else None
    out = [
        {
            "clip_id": int(row.clip_id),
            "excerpt_id": int(row.excerpt_id),
            "source": int(row.video),
            "clip_path": export.media_path("clip", int(row.clip_id), media_root=root),
            "excerpt_path": export.media_path("excerpt", int(row.excerpt_id), media_root=root),
        }
        for row in pairs.itertuples()
    ]
    missing = [p for pair in out for p in (pair["clip_path"], pair["excerpt_path"]) if not p.is_file()]
    if missing:
        sample = "\n  ".join(str(p) for p in missing[:5])
        raise TrainingInputError(
            f"{len(missing)} media file(s) listed in stimuli.csv do not exist, e.g.:\n  {sample}\n"
            "Run on the machine that holds the media, or pass a media_root for storage keys."
        )
    return out


def load_library(
    export_dir: str | Path,
    *,
    audio: dict[str, object],
    video: object,
    segmenters: dict[str, object],
    cache_dir: str | Path | None,
    media_root: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, list[AVItem]]:
    """{audio representation label: items} for the music videos of an export (same items, same order)."""
    pairs = music_video_pairs(export_dir, media_root=media_root)
    if len(pairs) < 3:
        raise TrainingInputError(
            f"{export_dir} has {len(pairs)} music video(s) (excerpts with a ground_truth_id clip); "
            "the protocol needs at least one per split."
        )
    log(f"{len(pairs)} music videos (ground-truth clip + soundtrack pairs) in {export_dir}")
    cache = FeatureCache(cache_dir) if cache_dir else None
    items: dict[str, list[AVItem]] = {label: [] for label in audio}
    for pair in tqdm(pairs, desc="features and segments", unit="video", disable=not progress):
        video_frames = load_frames(video, pair["clip_path"], cache)
        audio_frames = {label: load_frames(rep, pair["excerpt_path"], cache) for label, rep in audio.items()}
        duration = min(
            [len(video_frames) * video.hop_s] + [len(f) * audio[label].hop_s for label, f in audio_frames.items()]
        )
        segments = {}
        for label, segmenter in segmenters.items():
            if isinstance(segmenter, FixedWindows):
                points = segmenter.change_points_for(duration)
            else:
                source = pair["excerpt_path"] if segmenter.modality == "audio" else pair["clip_path"]
                points = from_cache_array(load_frames(segmenter, source, cache))
            segments[label] = spans(points, duration, min_segment_s=segmenter.min_segment_s)
        for label, frames in audio_frames.items():
            items[label].append(
                AVItem(
                    clip_id=pair["clip_id"],
                    excerpt_id=pair["excerpt_id"],
                    source=pair["source"],
                    duration_s=float(duration),
                    music=frames,
                    music_hop_s=float(audio[label].hop_s),
                    video=video_frames,
                    video_hop_s=float(video.hop_s),
                    segments=segments,
                    video_path=pair["clip_path"],
                )
            )
    return items
