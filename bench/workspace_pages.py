"""Benchmark: the workspace's experiment pages at Langlois' size (1,061 clips x 75 excerpts, k = 9).

    python bench/workspace_pages.py                         # seeds bench_workspace on 127.0.0.1, times, drops it
    python bench/workspace_pages.py --clips 200 --keep      # smaller; keep the database for a second look
    python bench/workspace_pages.py --reuse --keep          # time again on the kept database (no reseeding)

The study is seeded directly with ``bulk_create`` (items, bundles of 50 in 9 replica rounds, trials and
bundle pairings laid out round-robin, as the planner would, without running it), plus some completed
assignments with answers, skips and invite links, so every part of the page has rows. Each page is
fetched ``--repeat`` times in-process with Django's test client as a logged-in staff user; the median,
the slowest and the query count are printed, with the load average (the machine is shared: quote it).
The wizard's review counts (``summarise_design``: the item builder and the planner on the full design,
run by a Celery job the review page waits for) are timed too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.staff_pages import Timing, drop, recreate_database, seed_library, setup_django, staff_client, time_gets


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="bench_workspace")
    parser.add_argument("--clips", type=int, default=1061)
    parser.add_argument("--excerpts", type=int, default=75)
    parser.add_argument("--k", type=int, default=9)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--completed", type=int, default=200, help="completed assignments with answers")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a database kept by an earlier --keep run")
    args = parser.parse_args()
    if not args.db.replace("_", "").isalnum():
        parser.error("--db must be a plain identifier")
    return args


def seed(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from experiments.models import (
        Assignment,
        AssignmentStatus,
        Bundle,
        BundlePairing,
        BundleStatus,
        Experiment,
        ExperimentStatus,
        Item,
        Participant,
        ParticipantSource,
        Response,
        Trial,
    )
    from experiments.services.participants import create_invite_links

    clips, excerpts, pairings = seed_library(clips=args.clips, excerpts=args.excerpts)
    experiment = Experiment.objects.create(
        slug="langlois",
        title="Langlois-sized",
        kind="rating",
        status=ExperimentStatus.OPEN,
        seed=1,
        config={"clip_ids": [c.pk for c in clips], "excerpt_ids": [e.pk for e in excerpts]},
        judgments_per_item=args.k,
        trials_per_assignment=args.n,
        catch_trials_per_assignment=0,
        opened_at=timezone.now(),
    )
    items = Item.objects.bulk_create(
        [Item(experiment=experiment, index=i, pairing=p) for i, p in enumerate(pairings)], batch_size=10_000
    )
    slots = [item for _ in range(args.k) for item in items]  # k replica rounds, one after another
    n_bundles = -(-len(slots) // args.n)
    bundles = Bundle.objects.bulk_create(
        [
            Bundle(
                experiment=experiment,
                index=b,
                round=b * args.n // len(items),
                n_trials=len(slots[b * args.n :][: args.n]),
            )
            for b in range(n_bundles)
        ],
        batch_size=10_000,
    )
    trials, bundle_pairings = [], []
    for b, bundle in enumerate(bundles):
        for position, item in enumerate(slots[b * args.n :][: args.n]):
            trials.append(Trial(bundle=bundle, position=position, item=item, first_on_left=True))
            bundle_pairings.append(BundlePairing(bundle=bundle, pairing_id=item.pairing_id))
    Trial.objects.bulk_create(trials, batch_size=20_000)
    BundlePairing.objects.bulk_create(bundle_pairings, batch_size=20_000)
    # Completed assignments with answers (one skip each), so progress, filters and catch tables have rows.
    now = timezone.now()
    done = bundles[: args.completed]
    people = Participant.objects.bulk_create(
        [
            Participant(experiment=experiment, source=ParticipantSource.LINK, worker_id=f"w{i}", token=f"t{i:060d}")
            for i in range(len(done))
        ]
    )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                experiment=experiment,
                bundle=b,
                participant=p,
                status=AssignmentStatus.COMPLETED,
                n_trials=b.n_trials,
                n_answered=b.n_trials,
                completion_code=f"C{i}",
                last_activity_at=now,
                completed_at=now,
            )
            for i, (b, p) in enumerate(zip(done, people, strict=True))
        ]
    )
    Bundle.objects.filter(pk__in=[b.pk for b in done]).update(status=BundleStatus.COMPLETED)
    answered = Trial.objects.filter(bundle__in=done).order_by("bundle_id", "position")
    by_bundle = {a.bundle_id: a for a in assignments}
    responses = []
    for trial in answered.iterator(chunk_size=10_000):
        skipped = trial.position == 0
        responses.append(
            Response(
                assignment=by_bundle[trial.bundle_id],
                trial=trial,
                idempotency_key=f"{trial.pk}",
                rating=None if skipped else 4,
                skipped_reason="playback" if skipped else "",
                presented_at=now,
                answered_at=now,
                received_at=now,
            )
        )
    Response.objects.bulk_create(responses, batch_size=10_000)
    from django.db.models import F

    Item.objects.filter(trials__bundle__in=done).update(completed_count=F("completed_count") + 1)
    create_invite_links(experiment=experiment, count=100)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum keeps them on a live database
        cursor.execute("ANALYZE")
    return experiment.pk


def time_pages(experiment_id: int, repeat: int) -> list[Timing]:
    client = staff_client()
    base = f"/experiments/{experiment_id}/"
    pages = [
        ("home", "/home/"),
        ("experiment list", "/experiments/"),
        ("experiment page", base),
        ("  … short of k", base + "?show=short"),
        ("  … skipped", base + "?show=skipped"),
        ("  … flagged", base + "?show=flagged"),
        ("  … page 1,000", base + "?page=1000"),
        ("wizard: kind", "/experiments/new/"),
        ("invite links CSV (100)", base + "invites.csv"),
    ]
    return time_gets(client, pages, repeat)


def time_summary(experiment_id: int) -> float:
    from experiments.models import Experiment
    from experiments.services.designs import summarise_design

    e = Experiment.objects.get(pk=experiment_id)
    began = time.perf_counter()
    summary = summarise_design(
        kind=e.kind,
        config={"clip_ids": e.config["clip_ids"], "excerpt_ids": e.config["excerpt_ids"]},
        seed=1,
        judgments_per_item=e.judgments_per_item,
        trials_per_assignment=e.trials_per_assignment,
        catch_trials_per_assignment=1,
    )
    elapsed = time.perf_counter() - began
    print(
        f"design summary (the review's Celery job): {summary.items:,} items, {summary.bundles:,} bundles in {elapsed:.1f} s"
    )
    return elapsed


def main() -> None:
    args = parse()
    if not args.reuse:
        recreate_database(args.pg, args.db)
    setup_django(args.pg, args.db)
    try:
        began = time.perf_counter()
        if args.reuse:
            from experiments.models import Experiment

            experiment_id = Experiment.objects.get(slug="langlois").pk
        else:
            experiment_id = seed(args)
            print(
                f"seeded {args.clips} clips x {args.excerpts} excerpts, k = {args.k}, bundles of {args.n}, "
                f"{args.completed} completed assignments in {time.perf_counter() - began:.0f} s"
            )
        print(f"load average before timing: {os.getloadavg()}")
        print(f"{'page':<26}{'median ms':>10}{'max ms':>9}{'queries':>9}")
        for name, median, slowest, queries in time_pages(experiment_id, args.repeat):
            print(f"{name:<26}{median:>10.0f}{slowest:>9.0f}{queries:>9}")
        print(f"load average after timing: {os.getloadavg()}")
        time_summary(experiment_id)
    finally:
        if not args.keep:
            drop(args.pg, args.db)


if __name__ == "__main__":
    main()
