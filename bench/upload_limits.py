"""Benchmark: how long the import takes to refuse an over-limit 4K file, header check vs full decode.

Run from the repository root:  python bench/upload_limits.py  [--minutes 20 --size 3840x2160 --skip-full]

Makes a long 3840x2160 H.264 file cheaply (one second encoded at a low bitrate, then repeated by
stream copy), then times what the import does with it:

* **header check** (today): ``probe_header`` (``ffmpeg -i``, no decode) and ``check_header`` against
  the default limits (900 s, 1920x1080): the file is refused here, before any hash or decode;
* **full decode** (before the limits existed, the first thing the import did with every file):
  ``probe`` decodes every frame and measures the audio, and the file was then accepted.

Both run on this machine in this run, side by side. No Django needed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.media import MediaRejected, ValidationRules, check_header, probe, probe_header, run_ffmpeg

LIMITS = ValidationRules(max_duration_s=900.0, max_video_size=(1920, 1080))


def make_long_clip(folder: Path, *, minutes: float, size: str, fps: int) -> Path:
    """``minutes`` of ``size`` video with a tone: one encoded second, repeated by stream copy."""
    second = folder / "second.mp4"
    video = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration=1"]
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "200k", "-g", str(fps), "-pix_fmt", "yuv420p"]
    run_ffmpeg(
        ["-y", "-loglevel", "error", *video, *audio, *encode, "-c:a", "aac", "-b:a", "32k", "-shortest", str(second)]
    )
    clip = folder / "long_uhd.mp4"
    loops = max(int(minutes * 60) - 1, 0)
    run_ffmpeg(["-y", "-loglevel", "error", "-stream_loop", str(loops), "-i", str(second), "-c", "copy", str(clip)])
    return clip


def timed(function, *args, **kwargs):
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--size", default="3840x2160")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--skip-full", action="store_true", help="do not time the full decode")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mvfit-bench-limits-") as tmp:
        made, clip = timed(make_long_clip, Path(tmp), minutes=options.minutes, size=options.size, fps=options.fps)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
        print(
            f"test file: {options.size}, {options.minutes:g} min, {clip.stat().st_size / 2**20:.1f} MB (made in {made:.1f} s)"
        )

        runs = []
        for _ in range(5):
            seconds, header = timed(probe_header, clip)
            try:
                check_header(header, rules=LIMITS)
                reason = "accepted (?)"
            except MediaRejected as exc:
                reason = str(exc)
            runs.append(seconds)
        print(
            f"header check: refused in {min(runs) * 1000:.0f} ms (best of 5; median "
            f"{sorted(runs)[2] * 1000:.0f} ms): {reason}"
        )

        if not options.skip_full:
            seconds, info = timed(probe, clip)
            print(
                f"full decode (what every import did first, before the limits): {seconds:.1f} s, "
                f"decoded {info.decoded_duration_s or 0:.0f} s of {info.declared_duration_s or 0:.0f} s"
            )
            seconds, info = timed(probe, clip, max_duration_s=LIMITS.max_duration_s)
            print(
                f"bounded full decode (if a header hid the duration): {seconds:.1f} s, "
                f"decoded {info.decoded_duration_s or 0:.0f} s"
            )


if __name__ == "__main__":
    main()
