"""A music video for a whole song (seed 004): segment, retrieve, cut, concatenate, mux, record.

:func:`make_montage` is the one entry point (CLI, Celery task and bench call it). It writes
``OUT.mp4`` and ``OUT.provenance.json`` atomically (temporary file + rename; the provenance first, so a
montage never exists without it) and returns the provenance. A song ffmpeg cannot decode fails before
anything is written. ``render="copy"`` (default) stream-copies clips that already share one encoding
and normalises the others once into ``normalised_dir``; ``render="reencode"`` encodes every segment
(the slow path, kept to measure what copying saves and for libraries whose clips should be re-graded).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from mvfit_common.files import atomic_write, atomic_write_text, sha256_of
from training.errors import TrainingInputError
from training.montage import media
from training.montage.library import LibraryItem
from training.montage.plan import Choice, Constraints, plan_montage
from training.montage.segments import Segmentation, segment_song

PROVENANCE_FORMAT = "mvfit-montage"
RENDERS = ("copy", "reencode")
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def provenance_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.provenance.json")


def _choose_spec(facts: dict[Path, media.VideoFacts], fps: int | None) -> media.TargetSpec:
    """The most common size among the chosen clips (ties: the larger), at ``fps`` or their common rate."""
    sizes = Counter((f.width, f.height) for f in facts.values())
    (width, height), _ = max(sizes.items(), key=lambda kv: (kv[1], kv[0]))
    rates = Counter(round(f.fps) for f in facts.values())
    return media.TargetSpec(width=width, height=height, fps=fps or rates.most_common(1)[0][0])


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def _render_copy(
    plan: Sequence[Choice], audio: Future, tmp_out: Path, work: Path, *, fps: int, normalised_dir: Path, progress
) -> dict:
    clock = time.perf_counter()
    paths = sorted({choice.clip.path for choice in plan})
    missing = [path for path in paths if not path.is_file()]
    if missing:
        raise TrainingInputError(f"clip file {missing[0]} does not exist ({len(missing)} chosen clips are missing).")
    facts = {}
    # One short ffmpeg process per chosen clip; a few at a time (they wait on process start-up, not CPU).
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as inspectors:
        for k, (path, found) in enumerate(zip(paths, inspectors.map(media.inspect_video, paths), strict=False)):
            facts[path] = found
            progress("inspect", k + 1, len(paths))
    spec = _choose_spec(facts, fps)
    reference = media.TargetSpec(spec.width, spec.height, spec.fps)
    shared = Counter(f.signature() for p, f in facts.items() if (f.width, f.height) == (spec.width, spec.height))
    target_signature = shared.most_common(1)[0][0] if shared else None
    needed = {}
    for choice in plan:
        needed[choice.clip.path] = max(needed.get(choice.clip.path, 0), choice.segment.frames)
    copyable = {
        path
        for path, f in facts.items()
        if f.codec == "h264"
        and not f.reorders
        and f.signature() == target_signature
        and round(f.fps) == spec.fps
        and f.first_pts == 0
        and f.frames >= needed[path]
    }
    sources = {path: path for path in copyable}
    pending = [path for path in paths if path not in copyable]
    while pending:
        for k, path in enumerate(pending):
            # Held on its last frame only when the clip is shorter than its segment (a rounding edge case).
            hold = needed[path] if facts[path].frames < needed[path] else 0
            suffix = f"-hold{hold}" if hold else ""
            cached = normalised_dir / f"{sha256_of(path)[:24]}-{reference.key()}{suffix}.mp4"
            if not cached.is_file():
                with atomic_write(cached) as tmp:
                    media.encode_video(path, tmp, reference, min_frames=hold)
            sources[path] = cached
            progress("normalise", k + 1, len(pending))
        # Normalised clips carry this module's encoder settings; if the library's own clips were encoded
        # otherwise, they cannot be copied beside them: normalise those too (once; the cache keeps them).
        signature = media.inspect_video(sources[pending[0]]).signature()
        pending = [path for path in paths if sources[path] == path and facts[path].signature() != signature]
    normalised = sum(1 for path in paths if sources[path] != path)
    prepared_s, clock = time.perf_counter() - clock, time.perf_counter()
    script = work / "segments.ffconcat"
    script.write_text(media.concat_list([(sources[c.clip.path], c.segment.frames) for c in plan], spec.fps))
    waited = time.perf_counter()
    audio_s = audio.result()
    waited, clock = time.perf_counter() - waited, time.perf_counter()
    media.concat_and_mux(script, work / "song.m4a", tmp_out)
    return {
        "timings": {
            "prepare_s": prepared_s,
            "song_encode_s": audio_s,
            "song_wait_s": waited,
            "mux_s": time.perf_counter() - clock,
        },
        "mode": "copy",
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "normalised_clips": normalised,
        "sources": {path: (None if source == path else str(source)) for path, source in sources.items()},
    }


def _render_reencode(plan: Sequence[Choice], audio: Future, tmp_out: Path, work: Path, *, fps: int | None, progress):
    clock = time.perf_counter()
    facts = {c.clip.path: media.inspect_video(c.clip.path) for c in plan[:1]}
    spec = _choose_spec(facts, fps)
    parts = []
    for k, choice in enumerate(plan):
        part = work / f"segment-{k:05d}.mp4"
        media.encode_video(choice.clip.path, part, spec, frames=choice.segment.frames, min_frames=choice.segment.frames)
        parts.append((part, choice.segment.frames))
        progress("encode", k + 1, len(plan))
    script = work / "segments.ffconcat"
    script.write_text(media.concat_list(parts, spec.fps))
    prepared_s, clock = time.perf_counter() - clock, time.perf_counter()
    waited = time.perf_counter()
    audio_s = audio.result()
    waited, clock = time.perf_counter() - waited, time.perf_counter()
    media.concat_and_mux(script, work / "song.m4a", tmp_out)
    return {
        "timings": {
            "prepare_s": prepared_s,
            "song_encode_s": audio_s,
            "song_wait_s": waited,
            "mux_s": time.perf_counter() - clock,
        },
        "mode": "reencode",
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "normalised_clips": 0,
        "sources": {},
    }


def make_montage(
    song: str | Path,
    clips: Sequence[LibraryItem],
    *,
    scorer,
    out: str | Path,
    segmentation: Segmentation,
    constraints: Constraints | None = None,
    strategy: str = "nearest",
    seed: int = 0,
    fps: int = 25,
    render: str = "copy",
    normalised_dir: str | Path | None = None,
    model: str | None = None,
    progress: Progress | None = None,
    verbose: bool = False,
) -> dict:
    """Build the montage of ``song`` from ``clips`` into ``out``; returns the provenance (also written)."""
    if render not in RENDERS:
        raise TrainingInputError(f"render must be one of {', '.join(RENDERS)}, not {render!r}.")
    report = progress or (lambda stage, done, total: None)
    constraints = constraints or Constraints()
    song, out = Path(song), Path(out)
    timings = {}
    started = time.perf_counter()
    samples = media.decode_song(song)
    segments = segment_song(samples, media.SONG_RATE, segmentation, fps=fps)
    timings["segmentation_s"] = time.perf_counter() - started
    report("segment", 1, 1)

    started = time.perf_counter()
    spans = [(s.start_s, s.end_s) for s in segments]
    distances = scorer.song_distances(song, spans, clips, progress=verbose)
    plan = plan_montage(segments, clips, distances, constraints=constraints, strategy=strategy, seed=seed)
    timings["retrieval_s"] = time.perf_counter() - started
    report("retrieve", 1, 1)

    started = time.perf_counter()
    normalised = Path(normalised_dir) if normalised_dir else out.parent / ".montage-normalised"
    provenance_file = provenance_path(out)
    with (
        tempfile.TemporaryDirectory(prefix="montage-") as tmp,
        atomic_write(out) as tmp_out,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        work = Path(tmp)
        # The song's AAC encode (an ffmpeg process) runs while the clips are inspected and prepared.
        audio = pool.submit(_timed, media.encode_song, song, work / "song.m4a")
        if render == "copy":
            rendered = _render_copy(plan, audio, tmp_out, work, fps=fps, normalised_dir=normalised, progress=report)
        else:
            rendered = _render_reencode(plan, audio, tmp_out, work, fps=fps, progress=report)
        timings["render_s"] = time.perf_counter() - started
        timings.update(rendered["timings"])
        record = _provenance(
            song, out, samples, segments, plan, rendered, model, scorer, strategy, seed, segmentation, constraints
        )
        record["timings"] = {key: round(value, 3) for key, value in timings.items()}
        atomic_write_text(provenance_file, json.dumps(record, indent=2) + "\n")
    report("done", 1, 1)
    return record


def _provenance(song, out, samples, segments, plan, rendered, model, scorer, strategy, seed, segmentation, constraints):
    frames = sum(s.frames for s in segments)
    return {
        "format": PROVENANCE_FORMAT,
        "format_version": 1,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "song": {"file": str(song), "sha256": sha256_of(song), "duration_s": round(len(samples) / media.SONG_RATE, 6)},
        "video": {
            "file": out.name,
            "frames": frames,
            "duration_s": round(frames / rendered["fps"], 6),
            **{k: rendered[k] for k in ("width", "height", "fps")},
        },
        "model": model,
        "model_version": scorer.model_version,
        "strategy": strategy,
        "seed": seed,
        "segmentation": segmentation.to_dict(),
        "constraints": constraints.to_dict(),
        "render": {"mode": rendered["mode"], "normalised_clips": rendered["normalised_clips"]},
        "segments": [
            {
                "index": c.segment.index,
                "start_s": round(c.segment.start_s, 6),
                "end_s": round(c.segment.end_s, 6),
                "start_frame": c.segment.start_frame,
                "frames": c.segment.frames,
                "clip_id": c.clip.item_id,
                "source_video_id": c.clip.source_id,
                "clip_file": str(c.clip.path),
                "rendered_from": rendered["sources"].get(c.clip.path),
                "clip_range_s": [0.0, round(c.segment.duration_s, 6)],
                "source_range_s": [round(c.clip.start_s, 6), round(c.clip.start_s + c.segment.duration_s, 6)],
                "distance": round(c.distance, 6),
                "rank": c.rank,
                "continues_previous": c.continues_previous,
            }
            for c in plan
        ],
    }


def supervise(video: str | Path, excerpts: Sequence[LibraryItem], *, scorer, top: int = 10) -> list[dict]:
    """Music supervision: the ``top`` tracks nearest to ``video`` (a track's distance: its nearest excerpt)."""
    video = Path(video)
    if not video.is_file():
        raise TrainingInputError(f"video {video} does not exist.")
    if top < 1:
        raise TrainingInputError("--top must be at least 1.")
    distances = scorer.video_distances(video, excerpts)[0]
    best: dict[int, tuple[float, LibraryItem]] = {}
    for distance, item in zip(distances, excerpts, strict=True):
        if item.source_id not in best or distance < best[item.source_id][0]:
            best[item.source_id] = (float(distance), item)
    ranked = sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:top]
    return [
        {
            "rank": rank,
            "track_id": track,
            "excerpt_id": item.item_id,
            "excerpt_range_s": [round(item.start_s, 6), round(item.start_s + item.duration_s, 6)],
            "distance": round(distance, 6),
            "model_version": scorer.model_version,
        }
        for rank, (track, (distance, item)) in enumerate(ranked, start=1)
    ]
