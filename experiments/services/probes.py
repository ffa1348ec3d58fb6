"""Generated media that is not a pairing: attention-check (catch) stimuli. (The sound check's sounds are
synthesised per participant in memory: ``experiments.media.soundcheck``.)

Files get random storage names: the name of a file never says what it is, even to someone who
finds it in storage, and no worker URL carries it anyway.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from annotation.media import MediaError, run_ffmpeg
from annotation.models import Montage, Pairing, RenderState
from experiments.media.generated import AUDIO_OUT, VIDEO_OUT, render_text_frame
from experiments.models import CatchKind, CatchStimulus, Item

# A soft two-note chord: catch stimuli must have "music", or they would read as the silence check.
CATCH_MUSIC = "aevalsrc='0.15*sin(2*PI*330*t)+0.12*sin(2*PI*415*t)+0.1*sin(2*PI*494*t)':s=44100:d={d}"


def _encode(args: list[str]) -> None:
    """Run ffmpeg quietly (errors only), overwriting the output; a failure raises MediaError."""
    run_ffmpeg(["-loglevel", "error", "-y", *args], timeout=300)


def _save(local: Path, *, folder: str, suffix: str) -> str:
    with local.open("rb") as handle:
        return default_storage.save(f"experiments/{folder}/{uuid.uuid4().hex}{suffix}", File(handle))


def _typical_duration(catch: CatchStimulus) -> float:
    """Catch stimuli last as long as the experiment's real clips, so their length gives nothing away."""
    items = Item.objects.filter(experiment_id=catch.experiment_id).select_related(
        "pairing__clip", "first_pairing__clip", "montage", "first_montage"
    )[:50]
    durations = [
        (i.montage or i.first_montage).duration_s if i.is_montage else (i.pairing or i.first_pairing).clip.duration_s
        for i in items
    ]
    return round(statistics.median(durations), 3) if durations else 5.0


def _silent_video_source(catch: CatchStimulus, tmp: Path) -> str | None:
    """A real clip's picture for the no-music check: the source clip's prepared file, else a rendered pairing
    (or, in a montage study, a montage)."""
    names = []
    clip = catch.source_clip
    if clip is not None and clip.prepared_file:
        names.append(clip.prepared_file.name)
    pairing = (
        Pairing.objects.filter(state=RenderState.READY, rating_items__experiment_id=catch.experiment_id)
        .exclude(rendered_file="")
        .first()
    )
    if pairing is not None:
        names.append(pairing.rendered_file.name)
    # A montage rating study: the picture of one of its montages (with silence instead of the song).
    montage = (
        Montage.objects.filter(state=RenderState.READY, rating_items__experiment_id=catch.experiment_id)
        .exclude(file="")
        .first()
    )
    if montage is not None:
        names.append(montage.file.name)
    for name in names:
        if default_storage.exists(name):
            local = tmp / f"source{Path(name).suffix}"
            with default_storage.open(name, "rb") as src, local.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            return local.as_posix()
    return None


def _render_instruction(text: str, out: Path, *, duration: float, tmp: Path) -> None:
    frame = tmp / f"{uuid.uuid4().hex}.png"
    render_text_frame(text, frame)
    _encode(
        [
            "-loop", "1", "-framerate", "25", "-t", str(duration), "-i", frame.as_posix(),
            "-f", "lavfi", "-i", CATCH_MUSIC.format(d=duration),
            "-t", str(duration), *VIDEO_OUT, *AUDIO_OUT, "-shortest", out.as_posix(),
        ]
    )  # fmt: skip


def _render_silence(source: str | None, out: Path, *, duration: float) -> None:
    video = ["-i", source] if source else ["-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={duration}"]
    _encode(
        [
            *video,
            "-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=44100",
            "-map", "0:v:0", "-map", "1:a:0", "-t", str(duration),
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", *VIDEO_OUT, *AUDIO_OUT, out.as_posix(),
        ]
    )  # fmt: skip


def render_catch_stimulus(*, catch_id: int) -> CatchStimulus:
    """Render a catch stimulus' media (idempotent: a ready stimulus is left alone)."""
    catch = CatchStimulus.objects.select_related("source_clip").get(pk=catch_id)
    if catch.state == RenderState.READY and catch.file:
        return catch
    duration = _typical_duration(catch)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            target = tmp / "target.mp4"
            foil = None
            if catch.kind == CatchKind.RATING_SILENCE:
                _render_silence(_silent_video_source(catch, tmp), target, duration=duration)
            else:
                _render_instruction(catch.text, target, duration=duration, tmp=tmp)
            if catch.kind == CatchKind.CHOICE_INSTRUCTION:
                foil = tmp / "foil.mp4"
                _render_instruction("Attention check: do NOT choose this option", foil, duration=duration, tmp=tmp)
            catch.file = _save(target, folder="catch", suffix=".mp4")
            catch.foil_file = _save(foil, folder="catch", suffix=".mp4") if foil else ""
    except MediaError as exc:
        CatchStimulus.objects.filter(pk=catch.pk).update(state=RenderState.FAILED, error=str(exc))
        raise
    catch.state = RenderState.READY
    catch.error = ""
    catch.save(update_fields=["file", "foil_file", "state", "error"])
    return catch
