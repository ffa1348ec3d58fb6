"""What the staff-page benchmarks share: a throwaway PostgreSQL database, Django set up on it, a
Langlois-sized library seeded with ``bulk_create``, and the in-process timing of GET pages.

Used by ``bench/library_page.py`` and ``bench/workspace_pages.py``; not a benchmark itself.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time

Timing = tuple[str, float, float, int]  # page, median ms, slowest ms, queries


def recreate_database(pg: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(pg: str, name: str) -> None:
    """Django on database ``name`` with bench-only keys, tasks run in-process, any host allowed."""
    os.environ["DATABASE_URL"] = f"{pg}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("MVFIT_PSEUDONYM_KEY", "bench-only")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def drop(pg: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    recreate_database(pg, name, drop_only=True)


def seed_library(*, clips: int, excerpts: int, music_videos: int = 0, batches: int = 0, ready_clips: bool = False):
    """Migrate, then ``clips`` videos in 12 scene categories with one clip each, ``excerpts`` tracks in 15
    genres with one excerpt each (the first ``music_videos`` are soundtracks of the first videos: ground-truth
    pairs), ``batches`` import batches the assets are spread over, and every clip x excerpt pairing (rendered).
    ``ready_clips``: clips are prepared and have poster frames. Returns (clips, excerpts, pairings)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotation.models import ImportBatch, MusicExcerpt, MusicTrack, Pairing, RenderState, Video, VideoClip

    import_batches = ImportBatch.objects.bulk_create(
        [ImportBatch(source=ImportBatch.Source.FOLDER, location=f"/data/import-{b}") for b in range(batches)]
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
            import_batch=import_batches[i % batches] if batches else None,
            **extra,
        )

    videos = Video.objects.bulk_create(
        [asset(Video, i, f"scene-{i % 12}", width=640, height=360, fps=25.0) for i in range(clips)]
    )
    tracks = MusicTrack.objects.bulk_create(
        [
            asset(
                MusicTrack,
                i,
                f"genre-{i % 15}",
                sample_rate=44100,
                channels=2,
                source_video=videos[i] if i < music_videos else None,
            )
            for i in range(excerpts)
        ]
    )
    prepared = (
        (
            lambda i: {
                "state": RenderState.READY,
                "prepared_file": f"prepared/clips/clip-{i}.mp4",
                "poster_file": f"prepared/posters/clip-{i}.jpg",
            }
        )
        if ready_clips
        else (lambda i: {})
    )
    clip_rows = VideoClip.objects.bulk_create(
        [VideoClip(video=v, start_s=0, duration_s=5, seed=1, **prepared(i)) for i, v in enumerate(videos)]
    )
    excerpt_rows = MusicExcerpt.objects.bulk_create(
        [
            MusicExcerpt(
                track=t, start_s=0, duration_s=5, seed=1, ground_truth_clip=clip_rows[i] if i < music_videos else None
            )
            for i, t in enumerate(tracks)
        ]
    )
    pairings = Pairing.objects.bulk_create(
        [
            Pairing(clip=c, excerpt=e, state=RenderState.READY, rendered_file=f"bench/p-{c.pk}-{e.pk}.mp4")
            for c in clip_rows
            for e in excerpt_rows
        ],
        batch_size=10_000,
    )
    return clip_rows, excerpt_rows, pairings


def staff_client():
    """A Django test client logged in as a staff superuser (created once)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def time_gets(client, pages: list[tuple[str, str]], repeat: int) -> list[Timing]:
    """Each (name, url) fetched once to warm, then ``repeat`` times: median and slowest ms, queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

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
    return results
