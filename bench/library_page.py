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
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def recreate_database(pg: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotation.models import (
        ImportBatch,
        MusicExcerpt,
        MusicTrack,
        Pairing,
        RenderState,
        StimulusSet,
        Video,
        VideoClip,
    )

    batches = ImportBatch.objects.bulk_create(
        [ImportBatch(source=ImportBatch.Source.FOLDER, location=f"/data/import-{b}") for b in range(4)]
    )

    def asset(model, i, label, **extra):
        return model(
            file=f"bench/{model.__name__.lower()}-{i}",
            sha256=hashlib.sha256(f"{model.__name__}-{i}".encode()).hexdigest(),
            original_name=f"{model.__name__.lower()}_{i}.mp4",
            title=f"{model.__name__} {i}",
            size_bytes=1,
            duration_s=30.0,
            codec="h264",
            label=label,
            license="CC-BY-4.0",
            import_batch=batches[i % len(batches)],
            **extra,
        )

    videos = Video.objects.bulk_create(
        [asset(Video, i, f"scene-{i % 12}", width=640, height=360, fps=25.0) for i in range(args.clips)]
    )
    tracks = MusicTrack.objects.bulk_create(
        [
            asset(
                MusicTrack,
                i,
                f"genre-{i % 15}",
                sample_rate=44100,
                channels=2,
                source_video=videos[i] if i < MUSIC_VIDEOS else None,
            )
            for i in range(args.excerpts)
        ]
    )
    clips = VideoClip.objects.bulk_create(
        [
            VideoClip(
                video=v,
                start_s=0,
                duration_s=5,
                seed=1,
                state=RenderState.READY,
                prepared_file=f"prepared/clips/clip-{i}.mp4",
                poster_file=f"prepared/posters/clip-{i}.jpg",
            )
            for i, v in enumerate(videos)
        ]
    )
    excerpts = MusicExcerpt.objects.bulk_create(
        [
            MusicExcerpt(
                track=t, start_s=0, duration_s=5, seed=1, ground_truth_clip=clips[i] if i < MUSIC_VIDEOS else None
            )
            for i, t in enumerate(tracks)
        ]
    )
    Pairing.objects.bulk_create(
        [
            Pairing(clip=c, excerpt=e, state=RenderState.READY, rendered_file=f"bench/p-{c.pk}-{e.pk}.mp4")
            for c in clips
            for e in excerpts
        ],
        batch_size=10_000,
    )
    for s in range(8):
        stimulus_set = StimulusSet.objects.create(name=f"set {s}")
        stimulus_set.clips.set(clips[s * 100 : (s + 1) * 100])
        stimulus_set.excerpts.set(excerpts[: 10 + s])


def time_pages(repeat: int) -> list[tuple[str, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
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
    results = []
    for name, url in pages:
        client.get(url)  # warm
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        results.append((name, statistics.median(times), max(times), len(queries)))

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
    os.environ["DATABASE_URL"] = f"{args.pg}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("MVFIT_PSEUDONYM_KEY", "bench-only")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
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
            from django.db import connections

            connections.close_all()
            recreate_database(args.pg, args.db, drop_only=True)


if __name__ == "__main__":
    main()
