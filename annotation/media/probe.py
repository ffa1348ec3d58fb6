"""Probe a media file with ffmpeg alone: header facts from ``ffmpeg -i`` plus one full decode pass.

Two probes, cheap first: :func:`probe_header` only opens the file (container header and stream
parameters, no decode: milliseconds even for a long 4K file), so the import can refuse a file over the
size, duration or resolution limits before any expensive work; :func:`probe` then does the full pass.
Both let ffmpeg use only the accepted demuxers (``formats.FORMAT_WHITELIST``).

A single ffmpeg run of :func:`probe` opens the file (header: container, declared duration, streams), decodes the first
real video stream and the first audio stream to the null muxer (so corruption and truncation show up as
decode errors or a short decoded duration), and measures the audio on the way (``volumedetect`` for the
peak level, ``silencedetect`` for silent passages). Parsing ffmpeg's log is less pretty than ffprobe's
JSON, but ffprobe is not guaranteed to exist, and the decode pass is needed anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .ffmpeg import run_ffmpeg
from .formats import FORMAT_WHITELIST

# Defaults for the silence measurement done during the probe (sampling may re-measure with others).
SILENCE_NOISE_DB = -50.0
SILENCE_MIN_S = 0.5

_LEVEL_PREFIX = re.compile(
    r"^(?:\[[^\]]+ @ 0x[0-9a-f]+\] )*\[(?P<level>trace|debug|verbose|info|warning|error|fatal|panic)\] "
)
_ADDRESS = re.compile(r" @ 0x[0-9a-f]+")
_INPUT = re.compile(r"^Input #0, (?P<format>.+?), from ")
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")
_STREAM = re.compile(
    r"^\s*Stream #0:(?P<index>\d+)[^:]*: (?P<type>Video|Audio|Subtitle|Data|Attachment): (?P<rest>.*)$"
)
_SIZE = re.compile(r"(?<![0-9a-fx])(?P<w>\d{2,5})x(?P<h>\d{2,5})(?![0-9])")
_FPS = re.compile(r"(?P<fps>\d+(?:\.\d+)?) fps")
_TBR = re.compile(r"(?P<tbr>\d+(?:\.\d+)?)(?P<k>k?) tbr")
_HZ = re.compile(r"(?P<hz>\d+) Hz")
_CHANNELS = re.compile(r"(?P<n>\d+) channels")
_TIME = re.compile(r"time=(?P<h>-?\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")
_MAX_VOLUME = re.compile(r"max_volume: (?P<db>-?(?:inf|\d+(?:\.\d+)?)) dB")
_SILENCE_START = re.compile(r"silence_start: (?P<t>-?\d+(?:\.\d+)?)")
_SILENCE_END = re.compile(r"silence_end: (?P<t>-?\d+(?:\.\d+)?)")

_LAYOUT_CHANNELS = {
    "mono": 1,
    "stereo": 2,
    "2.1": 3,
    "3.0": 3,
    "quad": 4,
    "4.0": 4,
    "4.1": 5,
    "5.0": 5,
    "5.1": 6,
    "6.1": 7,
    "7.1": 8,
}


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    fps: float


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int


@dataclass
class MediaInfo:
    """What ffmpeg found out about one file. ``open_error`` is set when ffmpeg could not read it at all."""

    path: Path
    container: str = ""
    declared_duration_s: float | None = None
    decoded_duration_s: float | None = None
    video: VideoStream | None = None
    audio: AudioStream | None = None
    has_cover_art: bool = False
    other_streams: list[str] = field(default_factory=list)
    max_volume_db: float | None = None
    silences: list[tuple[float, float]] = field(default_factory=list)
    decode_errors: list[str] = field(default_factory=list)
    open_error: str | None = None

    @property
    def duration_s(self) -> float:
        """Best duration estimate: what actually decoded, else what the header says."""
        if self.decoded_duration_s and self.decoded_duration_s > 0:
            return self.decoded_duration_s
        return self.declared_duration_s or 0.0

    def as_metadata(self) -> dict:
        """JSON-serialisable facts worth keeping on the library row."""
        return {
            "container": self.container,
            "declared_duration_s": self.declared_duration_s,
            "decoded_duration_s": self.decoded_duration_s,
            "max_volume_db": self.max_volume_db,
            "silences": {
                "noise_db": SILENCE_NOISE_DB,
                "min_silence_s": SILENCE_MIN_S,
                "intervals": [[round(a, 3), round(b, 3)] for a, b in self.silences],
            },
            "decode_warnings": self.decode_errors[:10],
            "has_cover_art": self.has_cover_art,
        }


def _seconds(match: re.Match) -> float:
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def _strip_level(line: str) -> tuple[str, str]:
    """Split ``[ctx @ 0x..] [error] text`` into (level, text-with-context)."""
    match = _LEVEL_PREFIX.match(line)
    if not match:
        return "info", line
    context = _ADDRESS.sub("", line[: match.start("level") - 1])
    return match["level"], context + line[match.end() :]


def _channels(rest: str) -> int:
    if match := _CHANNELS.search(rest):
        return int(match["n"])
    parts = [p.strip() for p in rest.split(",")]
    for part in parts[2:4]:
        layout = part.split("(")[0].strip()
        if layout in _LAYOUT_CHANNELS:
            return _LAYOUT_CHANNELS[layout]
    return 0


def _parse_stream(info: MediaInfo, kind: str, rest: str) -> None:
    codec = rest.split(",")[0].split(" ")[0].strip()
    if kind == "Video":
        if "(attached pic)" in rest:
            info.has_cover_art = True
            return
        if info.video is not None:
            return
        size = _SIZE.search(rest)
        fps_match = _FPS.search(rest)
        if fps_match:
            fps = float(fps_match["fps"])
        elif tbr := _TBR.search(rest):
            fps = float(tbr["tbr"]) * (1000 if tbr["k"] else 1)
        else:
            fps = 0.0
        info.video = VideoStream(
            codec=codec,
            width=int(size["w"]) if size else 0,
            height=int(size["h"]) if size else 0,
            fps=fps,
        )
    elif kind == "Audio":
        if info.audio is not None:
            return
        hz = _HZ.search(rest)
        info.audio = AudioStream(codec=codec, sample_rate=int(hz["hz"]) if hz else 0, channels=_channels(rest))
    else:
        info.other_streams.append(f"{kind.lower()}:{codec}")


def parse_ffmpeg_log(path: Path, log: str) -> MediaInfo:
    """Turn the log of the probe run (``-loglevel level+info``) into a :class:`MediaInfo`."""
    info = MediaInfo(path=path)
    in_header = True
    open_failed = False
    pending_silence: float | None = None
    for raw in log.splitlines():
        level, line = _strip_level(raw)
        text = line.strip()
        if in_header and (text.startswith("Stream mapping:") or text.startswith("Output #0")):
            in_header = False
        if in_header:
            if match := _INPUT.match(text):
                info.container = match["format"]
            elif text.startswith("Duration:"):
                info.declared_duration_s = _seconds(m) if (m := _DURATION.search(text)) else None
            elif match := _STREAM.match(line):
                _parse_stream(info, match["type"], match["rest"])
        if "Error opening input" in text or "Error opening input file" in text:
            open_failed = True
        if level in {"error", "fatal", "panic"}:
            info.decode_errors.append(text)
        if match := _TIME.search(text):
            info.decoded_duration_s = max(0.0, _seconds(match))
        if match := _MAX_VOLUME.search(text):
            db = match["db"]
            info.max_volume_db = float("-inf") if db in {"-inf", "inf"} else float(db)
        if match := _SILENCE_START.search(text):
            pending_silence = max(0.0, float(match["t"]))
        if (match := _SILENCE_END.search(text)) and pending_silence is not None:
            info.silences.append((pending_silence, float(match["t"])))
            pending_silence = None
    if pending_silence is not None:
        info.silences.append((pending_silence, info.duration_s))
    if open_failed:
        info.open_error = next((e for e in info.decode_errors if "opening input" not in e), "") or (
            info.decode_errors[0] if info.decode_errors else "ffmpeg could not open the file"
        )
    return info


# ffmpeg's complaint when it is only asked to open a file (the header probe): not a problem of the file.
_NO_OUTPUT = "At least one output file must be specified"


def probe_header(path: Path | str, *, timeout: float = 60.0) -> MediaInfo:
    """Open ``path`` and read its header only (container, declared duration, streams); decode nothing.

    Never raises for a bad file: see ``open_error``. ``decoded_duration_s`` stays ``None``.
    """
    path = Path(path)
    completed = run_ffmpeg(
        ["-loglevel", "level+info", "-format_whitelist", FORMAT_WHITELIST, "-i", str(path)],
        timeout=timeout,
        check=False,
    )
    info = parse_ffmpeg_log(path, completed.stderr)
    info.decode_errors = [e for e in info.decode_errors if _NO_OUTPUT not in e]
    info.decoded_duration_s = None
    if info.open_error is None and not info.container:
        info.open_error = info.decode_errors[-1] if info.decode_errors else "ffmpeg could not read the file"
    return info


def probe(path: Path | str, *, timeout: float = 600.0, max_duration_s: float | None = None) -> MediaInfo:
    """Open, fully decode and measure ``path``. Never raises for a bad file: see ``open_error``/``decode_errors``.

    ``max_duration_s`` stops the decode a little after that much media (a header may understate the
    duration): ``decoded_duration_s`` then shows the file is longer than allowed, at bounded cost.
    """
    path = Path(path)
    limit = ["-t", f"{max_duration_s + 1:.3f}"] if max_duration_s else []
    completed = run_ffmpeg(
        [
            "-loglevel",
            "level+info",
            "-format_whitelist",
            FORMAT_WHITELIST,
            "-i",
            str(path),
            *limit,
            # "V" (capital) skips cover art; both maps are optional so audio-only and video-only work.
            "-map",
            "0:V:0?",
            "-map",
            "0:a:0?",
            "-af",
            f"silencedetect=noise={SILENCE_NOISE_DB}dB:duration={SILENCE_MIN_S},volumedetect",
            "-f",
            "null",
            "-",
        ],
        timeout=timeout,
        check=False,
    )
    info = parse_ffmpeg_log(path, completed.stderr)
    if completed.returncode != 0 and info.open_error is None:
        if info.video is None and info.audio is None and info.container:
            info.open_error = "no audio or video stream ffmpeg can decode"
        elif not info.container:
            info.open_error = info.decode_errors[-1] if info.decode_errors else "ffmpeg could not read the file"
        else:
            # Opened but the decode aborted: keep what we learnt; validation reports the errors.
            info.decode_errors.append(f"ffmpeg exited with status {completed.returncode}")
    if info.audio is None:
        info.max_volume_db = None
        info.silences = []
    return info


def detect_silences(
    path: Path | str, *, noise_db: float, min_silence_s: float, timeout: float = 600.0
) -> list[tuple[float, float]]:
    """Silent passages of the first audio stream: ``[(start_s, end_s), ...]`` (ffmpeg silencedetect)."""
    completed = run_ffmpeg(
        [
            "-loglevel",
            "level+info",
            "-format_whitelist",
            FORMAT_WHITELIST,
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            f"silencedetect=noise={noise_db}dB:duration={min_silence_s}",
            "-f",
            "null",
            "-",
        ],
        timeout=timeout,
    )
    return parse_ffmpeg_log(Path(path), completed.stderr).silences
