"""Montages (seed 004): request them, build them with ``training.montage``, keep their provenance.

``create_requested`` creates the rows for one song — a model's montage (S) and, as baselines, random
(R) and farthest (anti) montages under the same segmentation and constraints, plus the song's own music
video (G) when it has one; ``annotation.services.scheduling.request_montages`` wraps it and queues
``build_montage_task`` for each after the transaction commits.
Asking again for the same montage returns the existing row (a unique constraint names a request).

``build_montage`` is the task's work: idempotent (a ready montage is left alone), it reads the
library's prepared clips, asks the scorer for segment x clip distances, lets ``make_montage`` plan, cut
and concatenate (stream copy of normalised clips), publishes the video atomically into media storage
and stores the provenance with its SHA-256. Bad input (a song ffmpeg cannot decode, a model that is not
published, a library too small for no-reuse) marks the montage FAILED with the reason and leaves no
file. Progress (percent + step) is written as the generator reports its stages; pages poll it.

Scorers: ``NAME@VERSION`` is a published model of the registry (``DATA_DIR/models``, docs/retrieval.md).
Other apps may register a scorer for a name prefix (``register_scorer``): the demo registers its
documented energy stand-in that way, so this module never imports the demo.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.files import atomic_output, local_path, models_dir
from annotation.models import KIND_STRATEGY, Montage, MontageKind, MusicTrack, RenderState, VideoClip

logger = logging.getLogger(__name__)

DEFAULT_SEGMENTS = "beats:4"
DEFAULT_FPS = 25
#: Percent reached when each stage of the generator is reported (docs/montage.md: segment, retrieve,
#: inspect, normalise, done).
STAGE_PERCENT = {"segment": 10, "retrieve": 35, "inspect": 50, "normalise": 90, "encode": 90, "done": 100}

ScorerFactory = Callable[[str], object]
_SCORERS: dict[str, ScorerFactory] = {}


class MontageRequestError(ValueError):
    """A montage request that cannot be built as asked (the message says why and what to do)."""


def register_scorer(prefix: str, factory: ScorerFactory) -> None:
    """Let montages whose model starts with ``prefix@`` be scored by ``factory(model)``."""
    _SCORERS[prefix] = factory


@dataclass(frozen=True)
class MontageOptions:
    """How a song is cut and which clips may fill it (docs/montage.md, the ``montage`` command's options)."""

    segments: str = DEFAULT_SEGMENTS
    seed: int = 0
    no_reuse: bool = True
    no_same_source: bool = False
    continuity_bonus: float = 0.0
    min_segment_s: float = 0.5
    max_segment_s: float = 4.0
    fps: int = DEFAULT_FPS

    def constraints(self) -> dict:
        return {
            "no_reuse": self.no_reuse,
            "no_same_source": self.no_same_source,
            "continuity_bonus": float(self.continuity_bonus),
            "min_segment_s": float(self.min_segment_s),
            "max_segment_s": float(self.max_segment_s),
            "fps": int(self.fps),
        }

    def validate(self) -> None:
        from training.errors import TrainingInputError
        from training.montage.segments import Segmentation

        try:
            Segmentation.parse(self.segments, min_segment_s=self.min_segment_s, max_segment_s=self.max_segment_s)
        except TrainingInputError as exc:
            raise MontageRequestError(str(exc)) from exc
        if not 1 <= self.fps <= 60:
            raise MontageRequestError(f"fps must be between 1 and 60, not {self.fps}.")
        if not 0 <= self.continuity_bonus <= 2:
            raise MontageRequestError("the continuity bonus is a distance: between 0 and 2.")


def _check_model(model: str) -> None:
    name, sep, version = model.partition("@")
    if not (sep and name and version):
        raise MontageRequestError(f"model {model!r}: name a published model as NAME@VERSION.")
    if name in _SCORERS:
        return
    from training.registry import RegistryError, read_manifest

    try:
        read_manifest(models_dir(), name, version)
    except RegistryError as exc:
        raise MontageRequestError(str(exc)) from exc


def _get_or_create(*, song: MusicTrack, kind: str, model: str, segments: str, seed: int, constraints: dict, user):
    montage, _ = Montage.objects.get_or_create(
        song=song,
        kind=kind,
        model=model,
        segments=segments,
        seed=seed,
        constraints=constraints,
        defaults={"strategy": KIND_STRATEGY[kind], "created_by": user},
    )
    return montage


def create_requested(
    *,
    song: MusicTrack,
    model: str,
    options: MontageOptions | None = None,
    baselines: Iterable[str] = (MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL),
    user=None,
) -> list[Montage]:
    """The model's montage of ``song`` and its baselines (``R``, ``anti``, and ``G`` when the song has a video).

    Returns the montages in the order S, then the baselines asked for; existing ones are returned as they
    are. Queuing their builds is ``annotation.services.scheduling.request_montages``'s job.
    """
    options = options or MontageOptions()
    options.validate()
    _check_model(model)
    baselines = list(dict.fromkeys(baselines))
    unknown = [kind for kind in baselines if kind not in (MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL)]
    if unknown:
        raise MontageRequestError(f"baselines are R, anti and G, not {', '.join(map(str, unknown))}.")
    constraints = options.constraints()
    montages = [
        _get_or_create(
            song=song,
            kind=kind,
            model=model,
            segments=options.segments,
            seed=options.seed,
            constraints=constraints,
            user=user,
        )
        for kind in [MontageKind.MODEL, *[k for k in baselines if k != MontageKind.ORIGINAL]]
    ]
    if MontageKind.ORIGINAL in baselines and song.source_video_id is not None:
        montages.append(
            _get_or_create(
                song=song,
                kind=MontageKind.ORIGINAL,
                model="",
                segments="",
                seed=0,
                constraints={"fps": options.fps},
                user=user,
            )
        )
    return montages


@transaction.atomic
def reset_failed(*, montage: Montage) -> Montage:
    """Make a failed montage pending again (its error cleared), for another build."""
    montage = Montage.objects.select_for_update().get(pk=montage.pk)
    if montage.state != RenderState.FAILED:
        raise MontageRequestError(f"montage {montage.pk} is {montage.state}: only a failed montage is retried.")
    montage.state, montage.error, montage.progress, montage.step = RenderState.PENDING, "", 0, ""
    montage.save(update_fields=["state", "error", "progress", "step"])
    return montage


# ------------------------------------------------------------------------------------------------ building


def storage_name(montage: Montage) -> str:
    return f"montages/{montage.song_id}/montage-{montage.pk}.mp4"


def _claim(montage_id: int) -> Montage | None:
    with transaction.atomic():
        montage = Montage.objects.select_for_update().select_related("song").filter(pk=montage_id).first()
        if montage is None or montage.state == RenderState.READY:
            return None
        montage.state, montage.progress, montage.step, montage.error = RenderState.RENDERING, 0, "starting", ""
        montage.attempts += 1
        montage.save(update_fields=["state", "progress", "step", "error", "attempts"])
        return montage


def _report(montage_id: int) -> Callable[[str, int, int], None]:
    last = {"percent": -1}

    def report(stage: str, done: int, total: int) -> None:
        start = {"inspect": 35, "normalise": 50, "encode": 50}.get(stage, STAGE_PERCENT.get(stage, 0))
        end = STAGE_PERCENT.get(stage, start)
        percent = int(start + (end - start) * done / max(total, 1))
        if percent != last["percent"]:
            last["percent"] = percent
            Montage.objects.filter(pk=montage_id).update(progress=min(percent, 99), step=f"{stage} {done}/{total}")

    return report


def fail(montage_id: int, reason: str) -> None:
    Montage.objects.filter(pk=montage_id).exclude(state=RenderState.READY).update(
        state=RenderState.FAILED, error=reason[:2000], step="", finished_at=timezone.now()
    )


def scorer_for(model: str, *, cache_dir: Path | None = None):
    name = model.partition("@")[0]
    if name in _SCORERS:
        return _SCORERS[name](model)
    from training.montage.scoring import ModelScorer

    return ModelScorer(model, models_dir=models_dir(), cache_dir=cache_dir)


def _library(stack: ExitStack, *, song: MusicTrack):
    """The prepared clips as the generator's library items (local files; downloaded from S3 if need be).

    The song's own music video is left out: a montage is cut from other footage.
    """
    from training.montage.library import LibraryItem

    clips = VideoClip.objects.filter(state=RenderState.READY).exclude(prepared_file="").order_by("pk")
    if song.source_video_id is not None:
        clips = clips.exclude(video_id=song.source_video_id)
    return [
        LibraryItem(
            item_id=clip.pk,
            source_id=clip.video_id,
            start_s=clip.start_s,
            duration_s=clip.duration_s,
            path=stack.enter_context(local_path(clip.prepared_file)),
        )
        for clip in clips
    ]


def build_montage(*, montage_id: int) -> Montage | None:
    """Build one montage (the task's work). Returns the ready montage, or None when there was nothing to do."""
    from training.errors import TrainingInputError

    montage = _claim(montage_id)
    if montage is None:
        return None
    try:
        build = _build_original if montage.kind == MontageKind.ORIGINAL else _build_from_clips
        fields = build(montage)
    except (TrainingInputError, MontageRequestError, ValueError, FileNotFoundError) as exc:
        fail(montage_id, f"{type(exc).__name__}: {exc}" if isinstance(exc, FileNotFoundError) else str(exc))
        raise MontageBuildFailed(str(exc)) from exc
    with transaction.atomic():
        Montage.objects.filter(pk=montage_id).update(
            state=RenderState.READY, progress=100, step="", error="", finished_at=timezone.now(), **fields
        )
    return Montage.objects.get(pk=montage_id)


class MontageBuildFailed(Exception):
    """The montage could not be built; the reason is recorded on the row."""


def _build_from_clips(montage: Montage) -> dict:
    from training.montage.montage import make_montage
    from training.montage.plan import Constraints
    from training.montage.segments import Segmentation

    constraints = montage.constraints or {}
    segmentation = Segmentation.parse(
        montage.segments,
        min_segment_s=float(constraints.get("min_segment_s", 0.5)),
        max_segment_s=float(constraints.get("max_segment_s", 4.0)),
    )
    cache = Path(settings.DATA_DIR) / "cache"
    scorer = scorer_for(montage.model, cache_dir=cache / "features")
    name = storage_name(montage)
    with ExitStack() as stack:
        song = stack.enter_context(local_path(montage.song.file))
        clips = _library(stack, song=montage.song)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mvfit-montage-")))
        out = stack.enter_context(atomic_output(name))
        record = make_montage(
            song,
            clips,
            scorer=scorer,
            out=work / "montage.mp4",
            segmentation=segmentation,
            constraints=Constraints(
                no_reuse=bool(constraints.get("no_reuse", True)),
                no_same_source=bool(constraints.get("no_same_source", False)),
                continuity_bonus=float(constraints.get("continuity_bonus", 0.0)),
            ),
            strategy=montage.strategy,
            seed=montage.seed,
            fps=int(constraints.get("fps", DEFAULT_FPS)),
            normalised_dir=cache / "montage-normalised",
            model=montage.model,
            progress=_report(montage.pk),
        )
        shutil.move(work / "montage.mp4", out)
    record["song"]["file"] = montage.song.file.name  # storage keys, not this worker's temporary paths
    record["video"]["file"] = name
    for segment in record["segments"]:
        segment["clip_file"] = Path(segment["clip_file"]).name
        segment.pop("rendered_from", None)
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    distances = [segment["distance"] for segment in record["segments"]]
    return {
        "file": name,
        "provenance": record,
        "provenance_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "n_segments": len(record["segments"]),
        "duration_s": record["video"]["duration_s"],
        "mean_distance": sum(distances) / len(distances),
    }


def _build_original(montage: Montage) -> dict:
    """G: the song's own music video, encoded like a montage (H.264 + AAC, the requested frame rate)."""
    from training.montage import media

    video = montage.song.source_video
    if video is None:
        raise MontageRequestError(f"track {montage.song_id} has no music video, so it has no G montage.")
    fps = int((montage.constraints or {}).get("fps", DEFAULT_FPS))
    name = storage_name(montage)
    report = _report(montage.pk)
    with local_path(video.file) as source, atomic_output(name) as out:
        report("normalise", 0, 1)
        media.run(
            [
                "-v", "error", "-i", str(source), "-map", "0:v:0", "-map", "0:a:0",
                "-r", str(fps), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4", "-y", str(out),
            ],
            what=f"music video {video.pk} could not be encoded",
        )  # fmt: skip
        duration = media.media_duration(out)
    return {"file": name, "provenance": None, "provenance_sha256": "", "duration_s": duration}
