"""The montage's ffmpeg steps: decode the song, inspect and normalise clips, concatenate and mux.

Why the render is cheap: a library's prepared clips share one encoding (H.264, one size, frame rate and
time base). When additionally no clip reorders frames (no B-frames: decode order = display order), the
first ``k`` frames of a clip are exactly its first ``k`` packets, so a segment is cut *without decoding*:
the concat demuxer reads ``outpoint`` / ``duration`` directives and the whole montage is one stream-copy
``ffmpeg`` process that also encodes the song to AAC. Clips that do not fit (another codec, size, frame
rate, B-frames, different parameter sets) are re-encoded **once** into the shared form and kept in a
cache directory keyed by their content hash, so the next montage that picks them copies them too.

``ffprobe`` is not guaranteed to exist here (imageio-ffmpeg ships ffmpeg only), so facts come from
``ffmpeg -i``'s header and from the ``framecrc`` muxer over a stream copy (per packet dts/pts, no decode).
"""

from __future__ import annotations

import itertools
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mvfit_common.ffmpeg import ffmpeg_binary
from training.errors import TrainingInputError

SONG_RATE = 22050


class MontageMediaError(TrainingInputError):
    """A song or clip ffmpeg cannot read, or a render that failed; the message says which file and why."""


def run(args: list[str], *, what: str, stdout: bool = False) -> subprocess.CompletedProcess:
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", *args]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.decode("utf-8", "replace").strip().splitlines()[-4:])
        raise MontageMediaError(f"{what}: ffmpeg failed (exit {result.returncode}): {tail}")
    return result


def decode_song(path: Path, *, rate: int = SONG_RATE) -> np.ndarray:
    """Mono float32 samples at ``rate``; a clear error for a missing, corrupt or silent-less (empty) file."""
    path = Path(path)
    if not path.is_file():
        raise MontageMediaError(f"song {path} does not exist.")
    result = run(
        ["-v", "error", "-xerror", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        what=f"song {path} could not be decoded (corrupt or not an audio file)",
    )
    samples = np.frombuffer(result.stdout, dtype="<f4")
    if len(samples) < rate // 10:
        raise MontageMediaError(f"song {path} has no usable audio ({len(samples) / rate:.3f} s decoded).")
    return samples.copy()


_STREAM = re.compile(r"Stream #0:\d+[^:]*: Video: (?P<rest>.*)$", re.MULTILINE)
_SIZE = re.compile(r"(?<![0-9a-fx])(\d{2,5})x(\d{2,5})(?![0-9])")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")


@dataclass(frozen=True)
class VideoFacts:
    """What decides whether clips can be stream-copied into one montage."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    tbn: str  # the stream's time base, e.g. "1/12800"
    frames: int
    first_pts: int  # stream copy cuts assume the clip starts at 0
    reorders: bool  # B-frames: some packet's pts is below an earlier packet's
    parameter_sets: str  # size and CRC of the extradata (H.264: SPS/PPS; concatenated files must share them)

    def signature(self) -> tuple:
        return (self.codec, self.pix_fmt, self.width, self.height, round(self.fps, 3), self.tbn, self.parameter_sets)

    def to_dict(self) -> dict:
        return asdict(self)


def inspect_video(path: Path) -> VideoFacts:
    """Header facts, packet timestamps and the extradata (SPS/PPS) checksum of the first video stream.

    One ffmpeg run, no decode: the ``framecrc`` muxer over a stream copy lists every packet's dts/pts and
    the stream's extradata CRC; ``ffmpeg -i``'s header gives the frame rate and pixel format.
    """
    result = run(
        ["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
        what=f"clip {path} could not be read",
    )
    header = result.stderr.decode("utf-8", "replace")
    stream = _STREAM.search(header)
    if stream is None:
        raise MontageMediaError(f"clip {path} has no video stream.")
    rest = stream.group("rest")
    parts = [p.strip() for p in re.split(r",(?![^(]*\))", rest)]
    size, fps = _SIZE.search(rest), _FPS.search(rest)
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    meta = {k.strip(): v.strip() for k, _, v in (line[1:].partition(":") for line in lines if line.startswith("#"))}
    if size is None or fps is None or "tb 0" not in meta:
        raise MontageMediaError(f"clip {path}: cannot read size, frame rate or time base from {rest!r}.")
    pts = [int(line.split(",")[2]) for line in lines if line and not line.startswith("#")]
    return VideoFacts(
        codec=meta.get("codec_id 0", parts[0].split()[0]),
        pix_fmt=parts[1].split("(")[0].strip() if len(parts) > 1 else "",
        width=int(size.group(1)),
        height=int(size.group(2)),
        fps=float(fps.group(1)),
        tbn=meta["tb 0"],
        frames=len(pts),
        first_pts=pts[0] if pts else -1,
        reorders=any(b < a for a, b in itertools.pairwise(pts)),
        parameter_sets=meta.get("extradata 0", ""),
    )


@dataclass(frozen=True)
class TargetSpec:
    """The shared form clips are normalised into (H.264 without B-frames, one keyframe a second)."""

    width: int
    height: int
    fps: int
    crf: int = 23
    preset: str = "veryfast"

    def key(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}-crf{self.crf}-{self.preset}-bf0"


def x264_args(spec: TargetSpec) -> list[str]:
    # Fixed settings, so every clip normalised to one spec carries the same SPS/PPS.
    return [
        "-c:v",
        "libx264",
        "-preset",
        spec.preset,
        "-crf",
        str(spec.crf),
        "-profile:v",
        "high",
        "-bf",
        "0",
        "-g",
        str(spec.fps),
        "-keyint_min",
        str(spec.fps),
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-x264-params",
        "log=-1",
    ]


def video_filter(spec: TargetSpec, *, min_duration_s: float = 0.0) -> str:
    w, h = spec.width, spec.height
    return ",".join(
        [
            f"scale={w}:{h}:force_original_aspect_ratio=decrease",
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
            "setsar=1",
            f"fps={spec.fps}",
            f"tpad=stop_mode=clone:stop_duration={min_duration_s:.3f}",
        ]
    )


def encode_video(
    source: Path, output: Path, spec: TargetSpec, *, frames: int | None = None, min_frames: int = 0
) -> None:
    """Re-encode ``source``'s video (the first ``frames`` frames, or all, held to at least ``min_frames``)."""
    limit = ["-frames:v", str(frames)] if frames else []
    run(
        [
            "-v",
            "error",
            "-i",
            str(source),
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-vf",
            video_filter(spec, min_duration_s=min_frames / spec.fps),
            *limit,
            *x264_args(spec),
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-f",
            "mp4",
            "-y",
            str(output),
        ],
        what=f"clip {source} could not be re-encoded",
    )


def concat_list(entries: list[tuple[Path, int]], fps: float) -> str:
    """An ffconcat script taking the first ``frames`` frames of each file (no B-frames: packets = frames)."""
    lines = ["ffconcat version 1.0"]
    for path, frames in entries:
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"outpoint {(frames - 0.5) / fps:.6f}", f"duration {frames / fps:.6f}"]
    return "\n".join(lines) + "\n"


def audio_codec(path: Path) -> str:
    """The codec name of the first audio stream (``""`` when ffmpeg shows none)."""
    result = subprocess.run([ffmpeg_binary(), "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    match = re.search(r"Stream #0:\d+[^:]*: Audio: (\w+)", result.stderr.decode("utf-8", "replace"))
    return match.group(1) if match else ""


def encode_song(song: Path, output: Path) -> None:
    """The song's first audio stream as AAC in an MP4 (copied when it already is AAC)."""
    codec = ["-c:a", "copy"] if audio_codec(song) == "aac" else ["-c:a", "aac", "-b:a", "192k"]
    run(
        [
            "-v",
            "error",
            "-i",
            str(song),
            "-map",
            "0:a:0",
            "-vn",
            *codec,
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-f",
            "mp4",
            "-y",
            str(output),
        ],
        what=f"song {song} could not be encoded",
    )


def concat_and_mux(script: Path, audio: Path, output: Path) -> None:
    """Stream-copy the concatenated video and the (AAC) audio into ``output`` (MP4): no encoding at all."""
    run(
        [
            "-v",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(script),
            "-i",
            str(audio),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c",
            "copy",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "-y",
            str(output),
        ],
        what=f"montage {output} could not be written",
    )


def frame_hashes(path: Path, *, stream: str = "0:v:0") -> list[str]:
    """MD5 of every decoded video frame (in display order): what tests compare output and clips by."""
    result = run(["-v", "error", "-i", str(path), "-map", stream, "-f", "framemd5", "-"], what=f"{path} decode")
    rows = [line for line in result.stdout.decode().splitlines() if line and not line.startswith("#")]
    return [row.split(",")[-1].strip() for row in rows]


def media_duration(path: Path) -> float:
    """Container duration in seconds from ``ffmpeg -i`` (what ffprobe's format duration says)."""
    result = subprocess.run([ffmpeg_binary(), "-hide_banner", "-i", str(path)], capture_output=True, check=False)
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", result.stderr.decode("utf-8", "replace"))
    if match is None:
        raise MontageMediaError(f"{path}: no duration in ffmpeg's header.")
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)
