"""Benchmark: the staff library page at Langlois' size (1,061 clips x 75 excerpts: 79,575 pairings).

    python bench/library_page.py                   # seeds bench_library on 127.0.0.1, times, drops it
    python bench/library_page.py --clips 200 --keep
    python bench/library_page.py --reuse --keep    # time again on the kept database

The library is seeded directly with ``bulk_create``: videos in 12 scene categories, tracks in 15 genres (the
first 20 are the soundtracks of music videos, so there are ground-truth pairs), one clip per video with a
poster-frame name, one excerpt per track, every clip x excerpt pairing (rendered), and a few named stimulus
sets. Each view of the page (every kind, each filter, a deep page) is fetched ``--repeat`` times in-process
with Django's test client as a logged-in staff user; the median, the slowest and the query count are printed
with the load average (the machine is shared: quote it). Saving "everything matching the filters" as a set
is timed too. Target: < 300 ms a page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.staff_pages import Timing, drop, recreate_database, seed_library, setup_django, staff_client, time_gets

TARGET_MS = 300.0
MUSIC_VIDEOS = 20


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="bench_library")
    parser.add_argument("--clips", type=int, default=1061)
    parser.add_argument("--excerpts", type=int, default=75)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a database kept by an earlier --keep run")
    args = parser.parse_args()
    if not args.db.replace("_", "").isalnum():
        parser.error("--db must be a plain identifier")
    if min(args.clips, args.excerpts) < MUSIC_VIDEOS or args.repeat < 1:
        parser.error(f"--clips and --excerpts must be >= {MUSIC_VIDEOS}, --repeat >= 1")
    return args


def seed(args: argparse.Namespace) -> None:
    from annotation.models import StimulusSet

    clips, excerpts, _ = seed_library(
        clips=args.clips, excerpts=args.excerpts, music_videos=MUSIC_VIDEOS, batches=4, ready_clips=True
    )
    for s in range(8):
        stimulus_set = StimulusSet.objects.create(name=f"set {s}")
        stimulus_set.clips.set(clips[s * 100 : (s + 1) * 100])
        stimulus_set.excerpts.set(excerpts[: 10 + s])


def time_pages(repeat: int) -> list[Timing]:
    client = staff_client()
    pages = [
        ("clips (default)", "/library/"),
        ("  … scene filter", "/library/?label=scene-3"),
        ("  … search", "/library/?q=Video+10"),
        ("  … ground truth", "/library/?ground_truth=yes"),
        ("  … last page", "/library/?page=45"),
        ("excerpts", "/library/?kind=excerpts"),
        ("  … genre filter", "/library/?kind=excerpts&genre=genre-2"),
        ("pairings", "/library/?kind=pairings"),
        ("  … page 3,000", "/library/?kind=pairings&page=3000"),
        ("  … scene + genre", "/library/?kind=pairings&label=scene-5&genre=genre-7"),
        ("  … ground truth", "/library/?kind=pairings&ground_truth=yes"),
        ("  … batch + state", "/library/?kind=pairings&batch=2&state=ready"),
        ("  … search", "/library/?kind=pairings&q=Track+7"),
    ]
    results = time_gets(client, pages, repeat)

    # Saving everything matching a filter (all 80-odd clips of a scene) as a new set, then back on the page.
    began = time.perf_counter()
    response = client.post("/library/sets/?label=scene-4", {"name": f"bench {time.time()}", "all_matching": "on"})
    assert response.status_code == 302, response.status_code
    results.append(("save set (scene, all pages)", (time.perf_counter() - began) * 1000, 0.0, 0))
    return results


def main() -> None:
    args = parse()
    if not args.reuse:
        recreate_database(args.pg, args.db)
    setup_django(args.pg, args.db)
    try:
        if not args.reuse:
            began = time.perf_counter()
            seed(args)
            print(
                f"seeded {args.clips:,} clips x {args.excerpts} excerpts "
                f"({args.clips * args.excerpts:,} pairings) in {time.perf_counter() - began:.0f} s"
            )
        print(f"load average before timing: {os.getloadavg()}")
        print(f"{'library page':<30}{'median ms':>10}{'max ms':>9}{'queries':>9}")
        results = time_pages(args.repeat)
        for name, median, slowest, queries in results:
            print(f"{name:<30}{median:>10.0f}{slowest:>9.0f}{queries:>9}")
        print(f"load average after timing: {os.getloadavg()}")
        worst = max(median for _, median, _, _ in results)
        print(
            f"slowest median {worst:.0f} ms (target < {TARGET_MS:.0f} ms): {'met' if worst < TARGET_MS else 'MISSED'}"
        )
    finally:
        if not args.keep:
            drop(args.pg, args.db)


if __name__ == "__main__":
    main()
