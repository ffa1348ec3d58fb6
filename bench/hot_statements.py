"""What PostgreSQL spends on each statement of a worker's answer and of a join: EXPLAIN (ANALYZE, BUFFERS).

    python bench/load.py --workers 200 --duration 20 --keep-db   # a seeded, half-answered study
    python bench/hot_statements.py --db mvfit_bench               # then this, on the same database
    python bench/hot_statements.py --db mvfit_bench --drop        # ... and drop it afterwards

It runs the real code once per path, recording every statement it sends (the fast path's prepared
statements through ``webapp.db.HotCursor``, the ORM's through Django's cursor wrapper), then replays
each path ``--repeat`` times in a transaction that is rolled back: the statements before the one
measured run plainly, the measured one under ``EXPLAIN (ANALYZE, BUFFERS)``. Nothing stays written.
It prints, per statement, the median execution and planning time and the shared buffers hit/read --
PostgreSQL's own work, without the network round trip or the application (pg_stat_statements is not
loaded on this machine; on a server that loads it, its ``mean_exec_time`` gives the same figures).

Foreign keys are checked by triggers, which Django declares ``DEFERRABLE INITIALLY DEFERRED``: they
run at commit, which the rolled-back replay never reaches, so EXPLAIN alone leaves them out. The
replay sets ``SET CONSTRAINTS ALL IMMEDIATE`` first, so each statement's key checks run inside it and
are counted: the "keys ms" column is their share of the execution time (the join's 50 exposure rows
pay one trigger call per row and key).

Paths: ``answer`` (``fastpath.record_answer_fast``, the common case), ``join`` (``allocation.begin_work``, what
``POST api/begin`` runs, for a participant without work) and ``state`` (what ``GET api/state`` reads). Loopback only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="mvfit_bench", help="a database seeded by bench/load.py --keep-db")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    host = args.pg.split("@")[-1].split(":")[0].split("/")[0]
    if host not in ("127.0.0.1", "localhost", "::1") or not 1 <= args.repeat <= 200:
        parser.error("loopback PostgreSQL only, and 1 <= repeat <= 200")
    return args


def setup(args) -> None:
    os.environ.update(
        {
            "DATABASE_URL": f"{args.pg}/{args.db}",
            "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
            "MVFIT_PSEUDONYM_KEY": "bench-only",
            "DJANGO_DEBUG": "0",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
        }
    )
    os.environ.pop("MVFIT_TEST_DATABASE_NAME", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class Recorder:
    """Every statement the code under test sends, with its parameters, in order."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list | dict]] = []

    def __enter__(self):
        from django.db import connection

        from webapp import db

        self._original = db.HotCursor.execute
        recorder = self

        def execute(cursor, sql, params):
            # Named placeholders (allocation's statements) keep their mapping; positional ones a list.
            recorder.statements.append((sql, dict(params) if isinstance(params, dict) else list(params)))
            return recorder._original(cursor, sql, params)

        db.HotCursor.execute = execute
        self._wrapper = connection.execute_wrapper(self._orm)
        self._wrapper.__enter__()
        return self

    def _orm(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        from webapp import db

        db.HotCursor.execute = self._original
        self._wrapper.__exit__(*exc)


def record(path) -> list[tuple[str, list]]:
    from django.db import transaction

    with Recorder() as recorder, transaction.atomic():
        path()
        transaction.set_rollback(True)
    return recorder.statements


def explain(statements, repeat: int) -> list[dict]:
    import psycopg
    from django.db import connection

    rows = []
    for index, (sql, params) in enumerate(statements):
        runs = []
        for _ in range(repeat):
            connection.ensure_connection()
            raw = connection.connection
            with raw.transaction(force_rollback=True), psycopg.Cursor(raw) as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred key checks run (and count) here
                for before, before_params in statements[:index]:
                    cursor.execute(before, before_params)
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
                (plan,) = cursor.fetchone()[0]
            runs.append(plan)
        top = runs[-1]["Plan"]
        rows.append(
            {
                "statement": " ".join(sql.split())[:110],
                "exec_ms": statistics.median(r["Execution Time"] for r in runs),
                "plan_ms": statistics.median(r["Planning Time"] for r in runs),
                "keys_ms": statistics.median(sum(t["Time"] for t in r.get("Triggers", [])) for r in runs),
                "hit": top.get("Shared Hit Blocks", 0),
                "read": top.get("Shared Read Blocks", 0),
            }
        )
    return rows


def paths():
    from django.db.models import F
    from django.utils import timezone

    from experiments.answer_input import AnswerInput, assignment_ref, presentation_token
    from experiments.models import Assignment, AssignmentStatus, Participant, Response
    from experiments.selectors import worker as selectors
    from experiments.services.allocation import begin_work
    from experiments.services.fastpath import record_answer_fast

    active = (
        Assignment.objects.filter(status=AssignmentStatus.ACTIVE, n_answered__lt=F("n_trials") - 1)
        .select_related("participant")
        .order_by("pk")
        .first()
    )
    if active is None:
        sys.exit("no active assignment with two trials left: seed with bench/load.py --keep-db first")
    answered = set(Response.objects.filter(assignment=active).values_list("trial__position", flat=True))
    position = min(set(range(active.n_trials)) - answered)

    def answer():
        record_answer_fast(
            session_token=active.participant.token,
            answer=AnswerInput(
                idempotency_key=uuid.uuid4().hex,
                assignment_ref=assignment_ref(active),
                position=position,
                rating=4,
                rt_ms=900,
                play_count=1,
                presented_at=timezone.now(),
                answered_at=timezone.now(),
                presentation=presentation_token(assignment_id=active.pk, position=position),
            ),
        )

    fresh = Participant.objects.filter(assignments__isnull=True).order_by("pk").first()

    def join():  # POST api/begin's service, by the session token as the worker API calls it
        if fresh is None:
            sys.exit("no participant without work left in this database")
        begin_work(session_token=fresh.token)

    def state():
        selectors.state_json(selectors.state_for_token(active.participant.token))

    return {"answer (fast path)": answer, "join (allocate)": join, "state": state}


def main() -> None:
    args = parse_args()
    setup(args)
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min), {os.cpu_count()} cores; db {args.db}")
    try:
        for name, path in paths().items():
            rows = explain(record(path), args.repeat)
            total = sum(r["exec_ms"] + r["plan_ms"] for r in rows)
            print(f"\n{name}: {len(rows)} statements, {total:.3f} ms in PostgreSQL (median exec + plan)")
            print(f"  {'exec ms':>8} {'of it keys':>10} {'plan ms':>8} {'hit':>5} {'read':>5}  statement")
            for r in rows:
                print(
                    f"  {r['exec_ms']:>8.3f} {r['keys_ms']:>10.3f} {r['plan_ms']:>8.3f} {r['hit']:>5} {r['read']:>5}"
                    f"  {r['statement']}"
                )
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            sys.path.insert(0, str(ROOT / "bench"))
            import load

            load.recreate_database(args.pg, args.db, drop_only=True)


if __name__ == "__main__":
    main()
