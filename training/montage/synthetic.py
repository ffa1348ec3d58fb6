"""Synthetic songs and clip libraries for the montage's tests and bench (ffmpeg lavfi, no downloads).

:func:`make_library` encodes one long test-pattern video **once** and splits it with the segment muxer
into ``clips`` files of ``clip_s`` seconds (stream copy; each starts on a keyframe), so a 1,000-clip
library costs one encode. Clips are the prepared form the montage copies (H.264 without B-frames, one
size and rate); ``odd`` extra clips are encoded apart with B-frames and another size, to exercise the
normalisation path. The export's ``stimuli.csv`` lists clip ``i`` as ``source_id = i // per_source``
with consecutive spans, so runs of clips from one source video exist. ``excerpts`` adds music excerpts
(clicks at different tempi) for music supervision.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from exportformat import write_export
from training.montage.media import run


def make_song(path: Path, *, duration_s: float, bpm: float = 120.0, pitch_hz: float = 220.0) -> Path:
    """A tone with a decaying click on every beat (librosa finds the beats), 44.1 kHz WAV or by suffix."""
    beat = 60.0 / bpm
    expr = f"0.2*sin(2*PI*{pitch_hz}*t)+0.6*exp(-40*mod(t\\,{beat}))*sin(2*PI*1000*t)"
    run(
        [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{expr}':sample_rate=44100:duration={duration_s}",
            "-y",
            str(path),
        ],
        what=f"synthetic song {path}",
    )
    return Path(path)


def _encode_clips(folder: Path, *, count: int, clip_s: float, size: tuple[int, int], fps: int, bframes: int) -> list:
    total = count * clip_s
    pattern = folder / ("clip-%05d.mp4" if bframes == 0 else "odd-%05d.mp4")
    run(
        [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size[0]}x{size[1]}:rate={fps}:duration={total}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            str(bframes),
            "-g",
            str(fps),
            "-pix_fmt",
            "yuv420p",
            "-force_key_frames",
            f"expr:gte(t,n_forced*{clip_s})",
            "-x264-params",
            "log=-1:scenecut=0",
            "-f",
            "segment",
            "-segment_time",
            str(clip_s),
            "-reset_timestamps",
            "1",
            "-y",
            str(pattern),
        ],
        what="synthetic clips",
    )
    return sorted(folder.glob(pattern.name.replace("%05d", "*")))[:count]


def make_library(
    directory: Path,
    *,
    clips: int,
    clip_s: float = 4.0,
    size: tuple[int, int] = (96, 64),
    fps: int = 25,
    per_source: int = 5,
    odd: int = 0,
    excerpts: int = 0,
    distinct: int | None = None,
) -> Path:
    """An export directory (stimuli.csv + media under ``media/``) describing the synthetic library.

    ``distinct``: encode only that many clips and fill the rest of the ``clips`` files with copies of
    them (separate files, so the montage treats each as its own clip) — a large library at a realistic
    frame size without encoding hours of video on a shared machine.
    """
    directory = Path(directory)
    media_dir = directory / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    encoded = min(clips, distinct or clips)
    files = _encode_clips(media_dir, count=encoded, clip_s=clip_s, size=size, fps=fps, bframes=0)
    for i in range(encoded, clips):
        copy = media_dir / f"clip-{i:05d}.mp4"
        shutil.copyfile(files[i % encoded], copy)
        files.append(copy)
    if odd:
        files += _encode_clips(media_dir, count=odd, clip_s=clip_s, size=(size[0] + 16, size[1]), fps=fps, bframes=2)
    rows = [
        {
            "item_kind": "clip",
            "item_id": i + 1,
            "source_id": i // per_source + 1,
            "label": "synthetic",
            "seed": 0,
            "start_s": (i % per_source) * clip_s,
            "duration_s": clip_s,
            "file": str(path.resolve()),
        }
        for i, path in enumerate(files)
    ]
    for k in range(excerpts):
        path = make_song(media_dir / f"excerpt-{k:03d}.wav", duration_s=2.0, bpm=80 + 10 * k, pitch_hz=200 + 40 * k)
        rows.append(
            {
                "item_kind": "excerpt",
                "item_id": 1000 + k,
                "source_id": 500 + k // 2,
                "label": "synthetic",
                "seed": 0,
                "start_s": 2.0 * (k % 2),
                "duration_s": 2.0,
                "file": str(path.resolve()),
            }
        )
    write_export(
        directory,
        tables={"stimuli": pd.DataFrame(rows)},
        provenance={"source": "mvfit training.montage.synthetic", "experiments": []},
        parquet=False,
    )
    return directory
