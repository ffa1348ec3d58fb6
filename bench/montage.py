"""Benchmark: a montage for a 3-minute song from a 1,000-clip library — time to a finished MP4.

Run from the repository root:  python bench/montage.py  [--clips 1000 --distinct 100 --song-s 180 --size 640x360]

The library is synthetic (training/montage/synthetic.py: one test-pattern video encoded once and split
into ``--distinct`` files of ``--clip-s`` seconds, H.264 without B-frames, the form the montage copies,
then copied into ``--clips`` separate files, so a 1,000-clip library at 640x360 costs 100 clips' encode);
it is kept in ``--workdir`` and reused by later runs (its creation is not timed). Embeddings are
precomputed and random (512-d, one row per clip; the song as 0.1 s frames), so *retrieval* here is the
planner's own cost — aggregating the song's frames per segment, the distance matrix and the constrained
choice — not a model's feature extraction (which the feature cache does once per library clip). The
segmentation is librosa's beat tracker on the real song (``beats:4``).

Renders of the same plan in one run: ``copy`` (the default: stream-copy cuts through the concat
demuxer; the song is encoded to AAC by a second ffmpeg process while the clips are inspected, and both
are muxed by stream copy), ``reencode`` (every segment encoded with libx264, then concatenated), with
their ratio, and ``copy-aac`` (the song given as AAC already, so nothing at all is encoded). Figures print with the load average (the machine is
shared: timings are noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.montage.library import read_library
from training.montage.media import encode_song
from training.montage.montage import make_montage
from training.montage.scoring import EmbeddingScorer
from training.montage.segments import Segmentation, segment_song
from training.montage.synthetic import make_library, make_song


def load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=100, help="clips encoded; the other files are copies")
    parser.add_argument("--clip-s", type=float, default=4.0)
    parser.add_argument("--song-s", type=float, default=180.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--segments", default="beats:4")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "mvfit-bench-montage"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    work = Path(args.workdir) / f"{args.clips}x{args.clip_s}s-{args.distinct}-{args.size}@{args.fps}"
    if not (work / "library" / "stimuli.csv").exists():
        print(f"making the library ({args.clips} clips of {args.clip_s} s, {args.size}@{args.fps}) in {work} ...")
        started = time.perf_counter()
        make_library(
            work / "library",
            clips=args.clips,
            clip_s=args.clip_s,
            size=(width, height),
            fps=args.fps,
            distinct=args.distinct,
        )
        print(f"  {time.perf_counter() - started:.1f} s (not part of the figures)")
    song = work / f"song-{args.song_s:g}s.wav"
    if not song.exists():
        make_song(song, duration_s=args.song_s, bpm=123)
    aac_song = song.with_suffix(".m4a")
    if not aac_song.exists():
        encode_song(song, aac_song)
    clips = read_library(work / "library", "clip")
    rng = np.random.default_rng(0)
    scorer = EmbeddingScorer(
        items=rng.normal(size=(len(clips), 512)),
        frames=rng.normal(size=(int(args.song_s * 10), 512)),
        hop_s=0.1,
        model_version="bench:random-512d",
    )
    segmentation = Segmentation.parse(args.segments, max_segment_s=args.clip_s)
    # Warm librosa up (imports, numba compilation) so the figure is the beat tracker's, not a first-call cost.
    segment_song(np.random.default_rng(0).normal(size=44100).astype(np.float32), 22050, segmentation, fps=args.fps)
    print(f"{len(clips)} clips, song {args.song_s:g} s, segments {args.segments}, {load()}")
    results = {}
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        for name, render, source in (
            ("copy", "copy", song),
            ("reencode", "reencode", song),
            ("copy-aac", "copy", aac_song),
        ):
            started = time.perf_counter()
            record = make_montage(
                source,
                clips,
                scorer=scorer,
                out=Path(tmp) / f"{name}.mp4",
                segmentation=segmentation,
                fps=args.fps,
                render=render,
                normalised_dir=Path(tmp) / "normalised",
            )
            total = time.perf_counter() - started
            results[name] = (total, record)
            t = record["timings"]
            print(
                f"{name:9s} {total:6.2f} s to a finished MP4 ({len(record['segments'])} segments, "
                f"{record['render']['normalised_clips']} clips normalised): segmentation {t['segmentation_s']:.2f} s, "
                f"retrieval {t['retrieval_s']:.2f} s, clips (inspect/normalise/encode) {t['prepare_s']:.2f} s, "
                f"song AAC encode {t['song_encode_s']:.2f} s (alongside; waited {t['song_wait_s']:.2f} s), "
                f"concat+mux {t['mux_s']:.2f} s   [{load()}]"
            )
    copy, reencode = results["copy"][0], results["reencode"][0]
    render_ratio = results["reencode"][1]["timings"]["render_s"] / results["copy"][1]["timings"]["render_s"]
    print(f"re-encoding every segment / stream copy: {reencode / copy:.1f}x end to end, {render_ratio:.1f}x render")
    print("copy-aac: the same with the song already AAC (.m4a, as the platform's prepared excerpts): copied")
    print(f"target < 30 s for the copy path: {'met' if copy < 30 else 'NOT met'} ({copy:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
