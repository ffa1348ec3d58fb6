"""Media processing on top of the ffmpeg binary: probing, validation, synthetic media and rendering.

No Django models here: these functions take paths and numbers, so the services, the benchmark and
the tests can all use them directly.
"""

from .ffmpeg import FFmpegError, MediaError, ffmpeg_binary, run_ffmpeg
from .probe import AudioStream, MediaInfo, VideoStream, detect_silences, probe, probe_header
from .validation import MediaKind, MediaRejected, ValidationRules, check, check_header

__all__ = [
    "AudioStream",
    "FFmpegError",
    "MediaError",
    "MediaInfo",
    "MediaKind",
    "MediaRejected",
    "ValidationRules",
    "VideoStream",
    "check",
    "check_header",
    "detect_silences",
    "ffmpeg_binary",
    "probe",
    "probe_header",
    "run_ffmpeg",
]
