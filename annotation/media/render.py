"""The rendering pipeline's ffmpeg steps, on plain paths.

Cost structure (why it is built this way): encoding video is expensive, muxing is nearly free. So each
video clip is cut, scaled and encoded **once** (H.264, fixed GOP, no audio) and each music excerpt is cut
and loudness-normalised **once** (AAC). A pairing is then a stream-copy mux of the two prepared files;
many pairings of one clip are muxed by a single ffmpeg process (one process start, one read of the clip).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .ffmpeg import FFmpegError, run_ffmpeg

# One ffmpeg process muxes at most this many pairings (bounded by open files and command length).
MAX_OUTPUTS_PER_MUX = 48


@dataclass(frozen=True)
class RenderSpec:
    """How prepared excerpts look. Every clip/excerpt of a library shares one spec, which is what makes
    stream-copy muxing of any clip with any excerpt possible."""

    width: int = 1280
    height: int = 720
    fps: int = 25
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "160k"
    sample_rate: int = 48000
    loudness_lufs: float = -23.0  # EBU R128 programme loudness
    true_peak_db: float = -1.0
    loudness_range: float = 11.0

    @property
    def gop(self) -> int:
        # One keyframe per second: seeking in the browser stays cheap, and clips start on a keyframe.
        return self.fps


def _video_filters(spec: RenderSpec, duration_s: float) -> str:
    w, h = spec.width, spec.height
    return ",".join(
        [
            f"scale={w}:{h}:force_original_aspect_ratio=decrease",
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
            "setsar=1",
            f"fps={spec.fps}",
            # If the source ends a little early, hold the last frame so every clip has its exact length.
            f"tpad=stop_mode=clone:stop_duration={duration_s:.3f}",
            "format=yuv420p",
        ]
    )


def _x264_args(spec: RenderSpec) -> list[str]:
    return [
        "-c:v",
        "libx264",
        "-preset",
        spec.preset,
        "-crf",
        str(spec.crf),
        "-profile:v",
        "high",
        "-g",
        str(spec.gop),
        "-keyint_min",
        str(spec.gop),
        "-sc_threshold",
        "0",
    ]


def prepare_video_clip(*, source: Path, output: Path, start_s: float, duration_s: float, spec: RenderSpec) -> None:
    """Cut ``[start_s, start_s+duration_s)`` of the first video stream, scale/pad to the spec, encode H.264."""
    run_ffmpeg(
        [
            "-y",
            "-loglevel",
            "error",
            "-ss",
            f"{start_s:.3f}",
            "-i",
            str(source),
            "-map",
            "0:V:0",
            "-an",
            "-sn",
            "-dn",
            "-vf",
            _video_filters(spec, duration_s),
            "-t",
            f"{duration_s:.3f}",
            *_x264_args(spec),
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(output),
        ]
    )


_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.DOTALL)


def _loudnorm_json(stderr: str) -> dict:
    blocks = _JSON_BLOCK.findall(stderr)
    if not blocks:
        raise FFmpegError("loudnorm printed no measurement", stderr_tail=stderr[-500:])
    return json.loads(blocks[-1])


def _as_float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


def _loudnorm(spec: RenderSpec) -> str:
    return f"loudnorm=I={spec.loudness_lufs}:TP={spec.true_peak_db}:LRA={spec.loudness_range}"


def prepare_music_excerpt(
    *, source: Path, output: Path, start_s: float, duration_s: float, spec: RenderSpec
) -> float | None:
    """Cut an excerpt, normalise its loudness (EBU R128, two-pass loudnorm) and encode AAC.

    Returns the integrated loudness of the result in LUFS, or ``None`` for a silent excerpt (which is
    encoded as is: there is nothing to normalise).
    """
    cut = ["-ss", f"{start_s:.3f}", "-t", f"{duration_s:.3f}", "-i", str(source), "-map", "0:a:0", "-vn"]
    measured = _loudnorm_json(
        run_ffmpeg(["-loglevel", "info", *cut, "-af", f"{_loudnorm(spec)}:print_format=json", "-f", "null", "-"]).stderr
    )
    input_i = _as_float(measured.get("input_i"))
    # Pad with silence and trim so every excerpt has exactly the clip's length (stream copy cannot fix it later).
    tail = f"aresample={spec.sample_rate},apad=whole_dur={duration_s:.3f},atrim=0:{duration_s:.3f}"
    if math.isfinite(input_i) and input_i > -70:
        chain = (
            f"{_loudnorm(spec)}:measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
            f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
            f":offset={measured['target_offset']}:linear=true:print_format=json,{tail}"
        )
    else:
        chain = tail
    completed = run_ffmpeg(
        [
            "-y",
            "-loglevel",
            "info",
            *cut,
            "-af",
            chain,
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            spec.audio_bitrate,
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(output),
        ]
    )
    if chain == tail:
        return None
    output_i = _as_float(_loudnorm_json(completed.stderr).get("output_i"))
    return round(output_i, 2) if math.isfinite(output_i) else None


def mux_pairings(*, clip: Path, outputs: Sequence[tuple[Path, Path]]) -> None:
    """Mux one prepared clip with many prepared excerpts: ``outputs`` is ``[(excerpt_path, output_path), ...]``.

    Stream copy only (``-c copy``): no decoding, no encoding. ``+faststart`` puts the index first so a
    browser starts playing before the download finishes.
    """
    for offset in range(0, len(outputs), MAX_OUTPUTS_PER_MUX):
        chunk = outputs[offset : offset + MAX_OUTPUTS_PER_MUX]
        args = ["-y", "-loglevel", "error", "-i", str(clip)]
        for excerpt, _ in chunk:
            args += ["-i", str(excerpt)]
        for index, (_, output) in enumerate(chunk, start=1):
            args += [
                "-map",
                "0:v:0",
                "-map",
                f"{index}:a:0",
                "-c",
                "copy",
                "-map_metadata",
                "-1",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                str(output),
            ]
        run_ffmpeg(args)


def render_pairing_naively(
    *,
    video_source: Path,
    audio_source: Path,
    output: Path,
    clip_start_s: float,
    excerpt_start_s: float,
    duration_s: float,
    spec: RenderSpec,
) -> None:
    """The baseline the benchmark compares against: re-encode picture and sound for every pairing."""
    run_ffmpeg(
        [
            "-y",
            "-loglevel",
            "error",
            "-ss",
            f"{clip_start_s:.3f}",
            "-i",
            str(video_source),
            "-ss",
            f"{excerpt_start_s:.3f}",
            "-t",
            f"{duration_s:.3f}",
            "-i",
            str(audio_source),
            "-map",
            "0:V:0",
            "-map",
            "1:a:0",
            "-vf",
            _video_filters(spec, duration_s),
            "-af",
            f"{_loudnorm(spec)},aresample={spec.sample_rate}",
            "-t",
            f"{duration_s:.3f}",
            *_x264_args(spec),
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            spec.audio_bitrate,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(output),
        ]
    )


def extract_soundtrack(*, source: Path, output: Path) -> None:
    """Copy a video's first audio stream into a Matroska audio file (any codec fits; no re-encode)."""
    run_ffmpeg(
        [
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-map",
            "0:a:0",
            "-vn",
            "-c:a",
            "copy",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-f",
            "matroska",
            str(output),
        ]
    )


def poster_frame(*, source: Path, output: Path, at_s: float, width: int = 320) -> None:
    """Write one frame of ``source`` at ``at_s`` seconds as a JPEG ``width`` pixels wide (a library thumbnail)."""
    run_ffmpeg(
        [
            "-y",
            "-loglevel",
            "error",
            "-ss",
            f"{max(at_s, 0.0):.3f}",
            "-i",
            str(source),
            "-map",
            "0:V:0",
            "-frames:v",
            "1",
            "-vf",
            f"scale={width}:-2,format=yuvj420p",
            "-q:v",
            "4",
            "-map_metadata",
            "-1",
            "-f",
            "image2",
            "-c:v",
            "mjpeg",
            str(output),
        ]
    )
