"""Benchmark: pairings per second, project renderer (prepare once + stream-copy mux) vs naive re-encode.

Run from the repository root:  python bench/render.py  [--clips 8 --excerpts 30 --naive 6]

Both paths start from the same synthetic 720p inputs and produce the same format (H.264 720p25 + AAC,
loudness-normalised, 5 s). The naive path runs ffmpeg libx264 + aac for every pairing; the project's
path prepares each clip and excerpt once and then muxes every pairing by stream copy (one ffmpeg process
per clip writes all of that clip's pairings, as one Celery task does). Both use a pool of as many parallel
jobs as the machine has CPU cores. Figures come from this one run, side by side.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.media import ffmpeg_binary, probe, run_ffmpeg
from annotation.media.render import (
    RenderSpec,
    mux_pairings,
    prepare_music_excerpt,
    prepare_video_clip,
    render_pairing_naively,
)
from annotation.media.synthetic import make_music, make_video

SPEC = RenderSpec(width=1280, height=720, fps=25, preset="veryfast")
DURATION_S = 5.0
SOURCE_S = 8.0
PATTERNS = ["testsrc2", "smptehdbars", "gradients", "cellauto", "life", "testsrc"]
STYLES = ["melody", "chords", "pulse", "noise"]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_parallel(jobs, workers: int) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:  # the work happens in ffmpeg subprocesses
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8, help="video clips (default 8)")
    parser.add_argument("--excerpts", type=int, default=30, help="music excerpts (default 30)")
    parser.add_argument("--naive", type=int, default=6, help="pairings rendered the naive way (default 6)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel jobs (default: cores)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mvfit-bench-"))
    try:
        print(
            f"inputs: {args.clips} synthetic 720p videos, {args.excerpts} music tracks ({SOURCE_S:g} s each) in {work}"
        )
        videos = [work / f"src/video_{i}.mp4" for i in range(args.clips)]
        tracks = [work / f"src/music_{i}.ogg" for i in range(args.excerpts)]
        jobs = [
            (
                lambda v=v, i=i: make_video(
                    v, duration_s=SOURCE_S, pattern=PATTERNS[i % len(PATTERNS)], size=(1280, 720), fps=25, seed=i
                )
            )
            for i, v in enumerate(videos)
        ] + [
            (lambda t=t, i=i: make_music(t, duration_s=SOURCE_S, style=STYLES[i % len(STYLES)], seed=i))
            for i, t in enumerate(tracks)
        ]
        run_parallel(jobs, args.workers)
        starts = [0.4 + (i % 5) * 0.5 for i in range(max(args.clips, args.excerpts))]

        # --- project renderer: prepare once ...
        clips = [work / f"prepared/clip_{i}.mp4" for i in range(args.clips)]
        excerpts = [work / f"prepared/excerpt_{i}.m4a" for i in range(args.excerpts)]
        (work / "prepared").mkdir()
        prep_s = timed(
            lambda: run_parallel(
                [
                    (
                        lambda i=i: prepare_video_clip(
                            source=videos[i], output=clips[i], start_s=starts[i], duration_s=DURATION_S, spec=SPEC
                        )
                    )
                    for i in range(args.clips)
                ]
                + [
                    (
                        lambda i=i: prepare_music_excerpt(
                            source=tracks[i], output=excerpts[i], start_s=starts[i], duration_s=DURATION_S, spec=SPEC
                        )
                    )
                    for i in range(args.excerpts)
                ],
                args.workers,
            )
        )
        # ... then every clip x every excerpt by stream-copy mux, one process per clip.
        (work / "pairings").mkdir()
        n_pairings = args.clips * args.excerpts
        mux_s = timed(
            lambda: run_parallel(
                [
                    (
                        lambda c=c: mux_pairings(
                            clip=clips[c],
                            outputs=[(excerpts[e], work / f"pairings/p_{c}_{e}.mp4") for e in range(args.excerpts)],
                        )
                    )
                    for c in range(args.clips)
                ],
                args.workers,
            )
        )

        # --- naive: re-encode picture and sound for every pairing (a sample of the same pairings).
        (work / "naive").mkdir()
        sample = [(i % args.clips, (i * 7) % args.excerpts) for i in range(args.naive)]
        naive_s = timed(
            lambda: run_parallel(
                [
                    (
                        lambda c=c, e=e: render_pairing_naively(
                            video_source=videos[c],
                            audio_source=tracks[e],
                            output=work / f"naive/p_{c}_{e}.mp4",
                            clip_start_s=starts[c],
                            excerpt_start_s=starts[e],
                            duration_s=DURATION_S,
                            spec=SPEC,
                        )
                    )
                    for c, e in sample
                ],
                args.workers,
            )
        )

        # Same format on both paths (checked, not assumed).
        ours, theirs = probe(work / "pairings/p_0_0.mp4"), probe(work / f"naive/p_{sample[0][0]}_{sample[0][1]}.mp4")
        for info in (ours, theirs):
            assert (info.video.width, info.video.height, info.video.codec, info.audio.codec) == (
                1280,
                720,
                "h264",
                "aac",
            )
            assert abs(info.decoded_duration_s - DURATION_S) < 0.1 and not info.decode_errors

        mux_rate = n_pairings / mux_s
        naive_rate = args.naive / naive_s
        e2e_rate = n_pairings / (prep_s + mux_s)
        load = os.getloadavg()
        version = run_ffmpeg(["-version"]).stdout.splitlines()[0]
        rows = [
            ("project: stream-copy mux (prepared inputs)", n_pairings, mux_s, mux_rate, mux_rate / naive_rate),
            ("project: incl. one-time preparation", n_pairings, prep_s + mux_s, e2e_rate, e2e_rate / naive_rate),
            ("naive: libx264 + aac per pairing", args.naive, naive_s, naive_rate, 1.0),
        ]
        print()
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print(f"ffmpeg:  {ffmpeg_binary()} ({version})")
        print(
            f"format:  {SPEC.width}x{SPEC.height} {SPEC.fps} fps x264 {SPEC.preset} crf {SPEC.crf}, AAC {SPEC.audio_bitrate}, "
            f"{DURATION_S:g} s pairings; {args.workers} parallel jobs"
        )
        print(f"prepared once: {args.clips} clips + {args.excerpts} excerpts in {prep_s:.2f} s")
        print()
        print(f"{'renderer':<44} {'pairings':>9} {'seconds':>9} {'pairings/s':>11} {'vs naive':>9}")
        print("-" * 86)
        for name, n, seconds, rate, ratio in rows:
            print(f"{name:<44} {n:>9} {seconds:>9.2f} {rate:>11.2f} {ratio:>8.1f}x")
        print()
        print(
            f"speed-up of the project's renderer over naive re-encoding: {mux_rate / naive_rate:.0f}x "
            f"(target >= 100x); throughput {mux_rate:.0f} pairings/s (target >= 60)"
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
