"""How much our safety bookkeeping costs per MTurk call, measured side by side in one run.

Publishes the same number of HITs three ways against the SAME stubbed real boto3 client (no network):

  raw      -- bare ``create_hit_with_hit_type`` calls on the boto3 client (botocore validation only)
  wrapped  -- through ``mturk.client.MTurk`` with a no-op recorder (typed wrapper, error translation)
  service  -- ``publish_batch``: cap reservation under a row lock, attempt recorded before the call,
              audit row per call, HIT id stored, reservation committed

and prints per-HIT times and the ratios service/raw and wrapped/raw. MTurk itself answers a CreateHIT
in tens to hundreds of milliseconds and throttles around a few calls per second, so the figure that
matters is the absolute per-HIT overhead of ``service``.

Usage (uses DATABASE_URL if set, else a throw-away SQLite database):
    python bench/mturk_publish_overhead.py [--hits 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("MVFIT_DATA_DIR", tempfile.mkdtemp(prefix="mvfit-bench-"))
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench-not-a-key")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench-not-a-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=200)
    args = parser.parse_args()
    setup_django()

    from django.conf import settings

    from mturk.client import MTurk
    from mturk.models import MTurkStudy
    from mturk.modes import Mode
    from mturk.services.audit import open_mturk
    from mturk.services.publishing import create_batch, publish_batch
    from tests.mturk import stubs

    n = args.hits
    registry = stubs.StubRegistry()
    stubs.activate(registry)
    settings.MTURK_CLIENT_FACTORY = "tests.mturk.stubs.registered_client"
    client, stub = registry.client(Mode.SANDBOX), registry.sandbox
    question = '<?xml version="1.0"?><ExternalQuestion/>'

    def queue(count):
        for _ in range(count):
            stub.add_response("create_hit_with_hit_type", {"HIT": stubs.hit(hit_id=stubs.new_id(), max_assignments=1)})

    queue(n)
    t0 = time.perf_counter()
    for i in range(n):
        client.create_hit_with_hit_type(
            HITTypeId="3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX", MaxAssignments=1, LifetimeInSeconds=3600,
            Question=question, RequesterAnnotation=f"t{i}", UniqueRequestToken=f"t{i}",
        )  # fmt: skip
    raw = (time.perf_counter() - t0) / n

    wrapper = MTurk(
        mode=Mode.SANDBOX, recorder=lambda call: None, worker_pseudonym=str.lower, client_factory=lambda mode: client
    )
    queue(n)
    t0 = time.perf_counter()
    for i in range(n):
        wrapper.create_hit_with_hit_type(
            hit_type_id="3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX", external_url="https://mvfit.example.org/mturk/e/x/",
            frame_height=800, max_assignments=1, lifetime_s=3600, requester_annotation=f"w{i}",
            unique_request_token=f"w{i}",
        )  # fmt: skip
    wrapped = (time.perf_counter() - t0) / n

    study = MTurkStudy.objects.create(name=f"bench-{time.time_ns()}", spending_cap=Decimal("100000"))
    batch = create_batch(
        study=study, mode=Mode.SANDBOX, task_url="https://mvfit.example.org/mturk/e/x/", title="bench",
        description="bench", reward=Decimal("0.50"), n_assignments=n, max_assignments_per_hit=1,
        exclude_returning_workers=False,
    )  # fmt: skip
    batch.hit_type_id = "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"
    batch.save()
    queue(n)
    t0 = time.perf_counter()
    publish_batch(batch=batch, mturk=open_mturk(mode=Mode.SANDBOX, actor="bench"))
    service = (time.perf_counter() - t0) / n
    stub.assert_no_pending_responses()

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"MTurk publish overhead, {n} HITs each way, database: {engine}")
    print(f"  raw boto3 (stubbed)     {raw * 1000:8.2f} ms/HIT")
    print(f"  typed wrapper           {wrapped * 1000:8.2f} ms/HIT   ratio wrapped/raw  {wrapped / raw:5.2f}")
    print(f"  publish_batch (audited) {service * 1000:8.2f} ms/HIT   ratio service/raw  {service / raw:5.2f}")
    print(f"  bookkeeping per HIT     {(service - raw) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
