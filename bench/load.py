"""Load test of the worker flow: >=200 simulated crowd workers against the web server + PostgreSQL.

    python bench/load.py                     # defaults: 240 workers, 45 s, three restarts mid-run
    python bench/load.py --workers 300 --duration 60 --restart hup

What it does, all on 127.0.0.1 and bounded in time and count:

1. creates its own database (``mvfit_bench`` by default; dropped at the end unless --keep-db),
   migrates it and seeds a Langlois-sized rating study (100 clips x 20 excerpts, k = 9, bundles of
   50: 18,000 answers to give) plus participants that have passed consent and the audio check;
2. starts the web server on a free loopback port with the production settings (granian,
   ``python -m webapp.serve``; ``--server gunicorn`` runs ``webapp/gunicorn.conf.py`` instead;
   ``--server-workers`` / ``--server-threads`` override either);
3. runs N concurrent simulated workers (asyncio, one keep-alive HTTP/1.1 connection each, as a
   browser tab has): each takes a bundle (POST api/begin, which answers with the state), fetches its
   first trials (GET trial JSON; each answer's response then carries the trial after next, as the
   runner uses it), "thinks", and
   submits the answer with a fresh idempotency key, retrying the *same* key with
   backoff on connection errors and 5xx until the server acknowledges; a worker whose bundle is
   done takes another participant;
4. restarts the server mid-run: a graceful reload (SIGHUP) at 1/4, a full stop/start (SIGTERM) at 2/4
   and a crash (SIGKILL of the main process and its workers, in-flight requests die) at 3/4 of the run
   (``--restart`` picks all, both = hup + full, hup, full, kill or none);
5. reports p50/p99 latency of fetching a trial, of submitting and of the answer cycle (the fetch, where
   there was one, plus the submit), answers/s, and checks the database:
   every acknowledged answer is stored (none lost) and no trial is answered twice (none duplicated).

Latencies count successful requests only; attempts that failed during a restart are reported as
retries. The load generator shares the machine's cores with the server and PostgreSQL, so it must not
measure itself: the crowd talks to the server through ``RawClient``, a minimal asyncio HTTP/1.1
client (plain HTTP on loopback, Content-Length framing, keep-alive), which costs a small fraction
of the CPU per request that a general-purpose client such as httpx does. The CPU line of the
report shows what the server, PostgreSQL (its processes' CPU from /proc) and the load generator
each used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http.client
import json as jsonlib
import os
import random
import resource
import runpy
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 100.0
TARGET_ANSWERS_PER_S = 300.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=240, help="concurrent simulated workers (>= 200)")
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of load (hard bound)")
    parser.add_argument("--max-answers", type=int, default=18_000, help="stop after this many acknowledged answers")
    parser.add_argument("--think-ms", type=float, default=450.0, help="mean think time between fetch and answer")
    parser.add_argument("--ramp-s", type=float, default=5.0, help="simulated workers arrive spread over this time")
    parser.add_argument("--server", choices=SERVERS, default="granian", help="web server (default: production's)")
    parser.add_argument("--server-workers", type=int, default=None, help="processes (default: production's)")
    parser.add_argument("--server-threads", type=int, default=None, help="threads per process (default: production's)")
    parser.add_argument("--restart", choices=["all", "both", "hup", "full", "kill", "none"], default="all")
    parser.add_argument("--db", default="mvfit_bench", help="benchmark database (created and dropped)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (loopback)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.workers < 1 or args.duration <= 0 or args.duration > 600 or args.max_answers < 1:
        parser.error("workers >= 1, 0 < duration <= 600 s and max-answers >= 1 keep the run bounded")
    host = args.pg.split("@")[-1].split(":")[0].split("/")[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error(f"the benchmark only runs against a loopback PostgreSQL, not {host!r}")
    if not args.db.replace("_", "").isalnum():
        parser.error("--db must be a plain identifier")
    return args


# --- database and seed --------------------------------------------------------------------------


def recreate_database(pg: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(n_participants: int) -> tuple[int, list[str]]:
    """Migrate and seed the bench database (Django runs in this process for the seed only)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from annotation.models import MusicExcerpt, MusicTrack, Pairing, RenderState, Video, VideoClip
    from experiments.models import Participant, ParticipantSource
    from experiments.services.designs import create_experiment
    from experiments.services.lifecycle import open_experiment

    def asset(model, i, **extra):
        return model(
            file=f"bench/{model.__name__.lower()}-{i}",
            sha256=hashlib.sha256(f"{model.__name__}-{i}".encode()).hexdigest(),
            original_name=f"{i}",
            size_bytes=1,
            duration_s=30.0,
            codec="h264",
            label=f"label-{i % 5}",
            **extra,
        )

    from itertools import product

    videos = Video.objects.bulk_create([asset(Video, i, width=640, height=360, fps=25.0) for i in range(100)])
    tracks = MusicTrack.objects.bulk_create([asset(MusicTrack, i, sample_rate=44100, channels=2) for i in range(20)])
    clips = VideoClip.objects.bulk_create([VideoClip(video=v, start_s=0, duration_s=5, seed=1) for v in videos])
    excerpts = MusicExcerpt.objects.bulk_create(
        [MusicExcerpt(track=t, start_s=0, duration_s=5, seed=1) for t in tracks]
    )
    # The load test measures the JSON API, not media bytes: the pairings exist "rendered" up front,
    # so the design schedules no rendering.
    Pairing.objects.bulk_create(
        [
            Pairing(clip=c, excerpt=e, state=RenderState.READY, rendered_file="bench/none.mp4")
            for c, e in product(clips, excerpts)
        ]
    )
    experiment = create_experiment(
        slug="bench",
        title="bench",
        kind="rating",
        config={"clip_ids": [c.pk for c in clips], "excerpt_ids": [e.pk for e in excerpts]},
        seed=1,
        judgments_per_item=9,
        trials_per_assignment=50,
        catch_trials_per_assignment=0,
    )
    experiment = open_experiment(experiment=experiment)
    now = timezone.now()
    participants = Participant.objects.bulk_create(
        [
            Participant(
                experiment=experiment,
                source=ParticipantSource.LINK,
                worker_id=f"bench-{i}",
                token=secrets.token_urlsafe(32),
                consented_at=now,
                audio_check_passed_at=now,
            )
            for i in range(n_participants)
        ]
    )
    from django.db import connections

    connections.close_all()
    return experiment.pk, [p.token for p in participants]


def check_database(acked: set[str]) -> dict:
    from django.db import connection
    from django.db.models import Count, Sum

    from experiments.models import Assignment, Response

    stored = set(Response.objects.values_list("idempotency_key", flat=True))
    rows = Response.objects.count()
    duplicated = (
        Response.objects.values("assignment_id", "trial_id").annotate(n=Count("pk")).filter(n__gt=1).order_by().count()
    )
    distinct_keys = Response.objects.values("idempotency_key").distinct().count()
    counted = Assignment.objects.aggregate(n=Sum("n_answered"))["n"] or 0
    connection.close()
    return {
        "stored": rows,
        "lost": len(acked - stored),
        "duplicated_trials": duplicated,
        "duplicated_keys": rows - distinct_keys,
        "counter_mismatch": counted - rows,
        "stored_not_acked": len(stored - acked),
    }


# --- the web server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("granian", "gunicorn")


def server_settings(kind: str) -> tuple[int, int]:
    """The production default (processes, threads) of a server: ``webapp/serve.py``'s or gunicorn.conf.py's."""
    if kind == "granian":
        from webapp.serve import settings_from_env

        settings = settings_from_env()
        return settings["workers"], settings["blocking_threads"]
    conf = runpy.run_path(str(ROOT / "webapp" / "gunicorn.conf.py"))
    return conf["workers"], conf["threads"]


def production_server(*, env: dict, log: Path, kind: str = "granian") -> Server:
    """The web server under test with its production default of processes and threads, on a free port."""
    workers, threads = server_settings(kind)
    return Server(port=free_port(), env=env, workers=workers, threads=threads, log=log, kind=kind)


class Server:
    """The web server under test: granian (``python -m webapp.serve``, the production default) or gunicorn
    (``webapp/gunicorn.conf.py``), with ``workers`` processes x ``threads`` threads."""

    def __init__(self, *, port: int, env: dict, workers: int, threads: int, log: Path, kind: str = "granian") -> None:
        self.port, self.env, self.workers, self.threads, self.log = port, env, workers, threads, log
        self.kind = kind
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # As docker compose runs the web service: a pool of one database connection per request thread.
        pooled = {**self.env, "DJANGO_CONN_MAX_AGE": "0", "DJANGO_DB_POOL_SIZE": str(self.threads or 4)}
        if self.kind == "granian":
            env = {**pooled, "MVFIT_WEB_WORKERS": str(self.workers), "MVFIT_WEB_THREADS": str(self.threads)}
            env["MVFIT_ACCESS_LOG"] = "1" if os.environ.get("MVFIT_BENCH_ACCESS_LOG") else "0"
            command = [sys.executable, "-m", "webapp.serve", "--bind", f"127.0.0.1:{self.port}"]
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT
            )
            self.wait_healthy()
            return
        command = [
            sys.executable, "-m", "gunicorn", "webapp.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            # The production settings (gthread, keep-alive, backlog), as docker compose runs them.
            "--config", str(ROOT / "webapp" / "gunicorn.conf.py"),
            *(["--workers", str(self.workers)] if self.workers else []),
            *(["--threads", str(self.threads)] if self.threads else []),
            "--access-logfile", "-" if os.environ.get("MVFIT_BENCH_ACCESS_LOG") else "/dev/null",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=pooled, stdout=self.log.open("a"), stderr=subprocess.STDOUT
        )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited:\n{self.log.read_text()[-3000:]}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        raise RuntimeError(f"{self.kind} not healthy after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def reload(self) -> None:
        """Graceful: the master starts new workers and retires the old ones after their requests."""
        self.process.send_signal(signal.SIGHUP)

    def crash(self) -> None:
        """SIGKILL the master and its workers, as an OOM kill or power loss would: in-flight requests die."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        for pid in [*map(int, children.split()), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its descendants (a server's master and workers)."""
    parents, cpu = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(cpu.get(p, 0.0) for p in tree)


def wait_settled(pid: int, *, window: float = 0.5, idle_cpu: float = 0.02, timeout: float = 60.0) -> None:
    """Wait until the server ``pid`` has finished starting: its processes together used less than
    ``idle_cpu`` CPU seconds over ``window`` seconds. A server answers its health check as soon as its
    first worker process is up; a burst measured then would share the cores with the other workers still
    importing the app. Called before a measurement, never while load is running."""
    deadline = time.monotonic() + timeout
    before = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = tree_cpu(pid)
        if now - before < idle_cpu:
            return
        before = now
    raise RuntimeError(f"the server (pid {pid}) was still busy {timeout:.0f}s after it answered its health check")


# --- the crowd ------------------------------------------------------------------------------------


@dataclass
class Stats:
    fetch_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)  # per answer: its trial fetch (if any) + its submit
    begin_ms: list[float] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    replayed: int = 0
    retries: int = 0
    assignments: int = 0
    first_ack: float | None = None
    last_ack: float | None = None


class Done(Exception):
    pass


class TransportError(Exception):
    """The connection failed, broke or timed out before a whole response arrived: retry the request."""


class Response(NamedTuple):
    status: int
    body: bytes

    def json(self):
        return jsonlib.loads(self.body)


class RawClient:
    """A minimal HTTP/1.1 client on one keep-alive connection, one request at a time (like a browser tab).

    Plain HTTP to the server on loopback only: bodies framed by Content-Length (Django's CommonMiddleware
    sets it on every non-streaming response, the 302 of ``begin`` included, so gunicorn never chunks
    these) or, failing that, by the server closing the connection. A response with ``Connection: close``,
    or a connection the server closed while idle (graceful reload, restart), makes the next request
    reconnect. Every connection-level failure closes the socket and raises ``TransportError``.
    """

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, json=None) -> Response:
        body = b"" if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if json is not None:
            head += "Content-Type: application/json\r\n"
        if body or method != "GET":
            head += f"Content-Length: {len(body)}\r\n"
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(head.encode("latin-1") + b"\r\n" + body)
        except (OSError, EOFError, asyncio.LimitOverrunError) as exc:  # incl. IncompleteReadError, TimeoutError
            self.close()
            raise TransportError(f"{method} {path}: {exc!r}") from exc
        except BaseException:
            self.close()  # a malformed response or a cancellation leaves the connection in an unknown state
            raise

    async def _exchange(self, request: bytes) -> Response:
        if self.writer is None or self.writer.is_closing() or self.reader.at_eof():
            self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        length, close = None, version != "HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value in ("close", "keep-alive"):
                close = value == "close"
            elif name == "transfer-encoding":
                raise RuntimeError(f"unexpected Transfer-Encoding {value!r} (RawClient reads Content-Length)")
        if length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close:
            self.close()
        return Response(int(status), body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def call(client: RawClient, method: str, path: str, stats: Stats, deadline: float, json=None) -> tuple:
    """One request, retried (same body, same key) on connection errors and 5xx until answered."""
    delay = 0.05
    while True:
        if time.monotonic() > deadline + 30:  # give in-flight answers a grace period to land
            raise Done
        start = time.perf_counter()
        try:
            response = await client.request(method, path, json=json)
            if response.status < 500:
                return response, (time.perf_counter() - start) * 1000
        except TransportError:
            pass
        stats.retries += 1
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 1.0)


async def simulated_worker(port: int, tokens: list[str], stats: Stats, args, deadline: float) -> None:
    """One crowd worker with its own keep-alive connection (a browser tab has its own, too)."""
    # Crowd workers arrive over a few seconds, not all in the same millisecond.
    await asyncio.sleep(random.uniform(0, args.ramp_s))
    client = RawClient("127.0.0.1", port)
    try:
        await _work(client, tokens, stats, args, deadline)
    finally:
        client.close()


async def _work(client: RawClient, tokens: list[str], stats: Stats, args, deadline: float) -> None:
    rng = random.Random()
    while tokens and time.monotonic() < deadline and len(stats.acked) < args.max_answers:
        token = tokens.pop()
        # The join as the runner makes it: one request that takes a bundle and answers with the state.
        response, ms = await call(client, "POST", f"/w/s/{token}/api/begin", stats, deadline)
        if response.status == 409 and response.json().get("code") == "no_work":
            return  # no work left for anyone
        if response.status != 200:
            raise RuntimeError(f"join refused: {response.status} {response.body[:200]!r}")
        stats.begin_ms.append(ms)
        stats.assignments += 1
        state = response.json()
        carried: dict[int, dict] = {}  # position -> trial an answer's response carried ("next")
        for position in state["unanswered"]:
            if time.monotonic() > deadline or len(stats.acked) >= args.max_answers:
                return
            cycle = 0.0
            trial = carried.pop(position, None)
            if trial is None:  # the first trials, as the runner fetches them; later ones come with answers
                fetched, ms = await call(client, "GET", f"/w/s/{token}/api/trials/{position}", stats, deadline)
                if fetched.status != 200:
                    raise RuntimeError(f"trial fetch failed: {fetched.status} {fetched.body[:200]!r}")
                stats.fetch_ms.append(ms)
                trial, cycle = fetched.json(), ms
            await asyncio.sleep(rng.expovariate(1000 / args.think_ms) if args.think_ms else 0)
            key = uuid.uuid4().hex
            body = {
                "idempotency_key": key,
                "assignment": state["assignment"],
                "position": position,
                "rating": rng.randint(1, 7),
                "rt_ms": 1000,
                "play_count": 1,
                "presentation": trial["presentation"],  # the proof that this trial was served
            }
            answer, ms = await call(client, "POST", f"/w/s/{token}/api/answers", stats, deadline, json=body)
            if answer.status != 200:
                raise RuntimeError(f"answer refused: {answer.status} {answer.body[:200]!r}")
            stats.submit_ms.append(ms)
            stats.cycle_ms.append(cycle + ms)
            receipt = answer.json()
            stats.replayed += receipt["replayed"]
            if receipt.get("next"):
                carried[receipt["next"]["position"]] = receipt["next"]
            stats.acked.add(key)
            now = time.monotonic()
            stats.first_ack = stats.first_ack or now
            stats.last_ack = now


async def run_crowd(args, port: int, tokens: list[str], server: Server, stats: Stats) -> list[str]:
    events = []
    start = time.monotonic()
    deadline = start + args.duration

    async def restarts():
        plan = {
            "all": [("hup", 1 / 4), ("full", 2 / 4), ("kill", 3 / 4)],
            "both": [("hup", 1 / 3), ("full", 2 / 3)],
            "hup": [("hup", 0.5)],
            "full": [("full", 0.5)],
            "kill": [("kill", 0.5)],
        }
        for kind, at in plan.get(args.restart, []):
            await asyncio.sleep(max(0.0, start + at * args.duration - time.monotonic()))
            t = time.monotonic() - start
            if kind == "hup":
                server.reload()
                events.append(f"t={t:.1f}s graceful reload (SIGHUP)")
            else:
                began = time.monotonic()
                await asyncio.to_thread(server.stop if kind == "full" else server.crash)
                await asyncio.to_thread(server.start)
                how = "full restart (SIGTERM" if kind == "full" else "crash (SIGKILL of master and workers"
                events.append(f"t={t:.1f}s {how}, start, healthy) took {time.monotonic() - began:.1f}s")

    workers = [simulated_worker(port, tokens, stats, args, deadline) for _ in range(args.workers)]
    results = await asyncio.gather(restarts(), *workers, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, Done)]
    if errors:
        raise errors[0]
    return events


def postgres_cpu_seconds(database: str | None = None) -> float | None:
    """CPU seconds used so far by the local PostgreSQL's processes (None if /proc is not readable).

    ``database``: only the backends (and autovacuum workers) of that database, told by the process title
    PostgreSQL sets (``postgres: <user> <database> <host> ...``), so other databases' work on a shared
    machine (neighbours' test suites) is not counted; the cluster's shared WAL writer, checkpointer and
    background writer are then left out too. Backends that exit during the run take their CPU time
    with them, so with restarts this is a lower bound; with ``--restart none`` the backends live
    through the whole run.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(entry.path, "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                if name != "postgres":
                    continue
                if database is not None:
                    title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    if f" {database} " not in f"{title} ":
                        continue
                fields = stat[stat.rindex(")") + 2 :].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return None
    return total / ticks


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def bench_env(database_url: str, data_dir: str) -> dict[str, str]:
    """The environment of a bench's Django process and web server (production settings, DEBUG off, no
    broker: tasks run eagerly), on ``database_url``; this process's own environment becomes it too."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
        "MVFIT_PSEUDONYM_KEY": "bench-only",
        "DJANGO_DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "MVFIT_LOG_LEVEL": "WARNING",
        "MVFIT_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    return env


def main() -> None:
    args = parse_args()
    env = bench_env(f"{args.pg}/{args.db}", tempfile.mkdtemp(prefix="mvfit-bench-"))
    print(
        f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), {os.cpu_count()} cores"
    )
    recreate_database(args.pg, args.db)
    server = None
    try:
        t = time.monotonic()
        experiment_id, tokens = seed(n_participants=args.workers * 4)
        print(f"seeded {args.db}: experiment {experiment_id}, {len(tokens)} participants ({time.monotonic() - t:.1f}s)")
        port = free_port()
        log = Path(env["MVFIT_DATA_DIR"]) / f"{args.server}.log"
        workers, threads = server_settings(args.server)
        args.server_workers = args.server_workers or workers
        args.server_threads = args.server_threads or threads
        server = Server(
            port=port, env=env, workers=args.server_workers, threads=args.server_threads, log=log, kind=args.server
        )
        server.start()
        stats = Stats()
        print(f"{args.server} on 127.0.0.1:{port} ({args.server_workers} workers x {args.server_threads} threads); "
              f"{args.workers} simulated workers for up to {args.duration:.0f}s / {args.max_answers} answers")  # fmt: skip
        began = time.monotonic()
        client_cpu = time.process_time()
        db_cpu = postgres_cpu_seconds(args.db)
        events = asyncio.run(run_crowd(args, port, tokens, server, stats))
        elapsed = time.monotonic() - began
        client_cpu = time.process_time() - client_cpu
        db_cpu = (postgres_cpu_seconds(args.db) or 0.0) - db_cpu if db_cpu is not None else None
        server.stop()
        # Every server process has been waited for by now, so its CPU time is in RUSAGE_CHILDREN.
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = usage.ru_utime + usage.ru_stime
        db = check_database(stats.acked)
    finally:
        if server:
            server.stop()
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            recreate_database(args.pg, args.db, drop_only=True)

    window = (stats.last_ack - stats.first_ack) if stats.first_ack and stats.last_ack else elapsed
    rate = len(stats.acked) / window if window else 0.0
    rows = [
        ("fetch trial", percentile(stats.fetch_ms, 50), percentile(stats.fetch_ms, 99), len(stats.fetch_ms)),
        ("submit answer", percentile(stats.submit_ms, 50), percentile(stats.submit_ms, 99), len(stats.submit_ms)),
        ("answer cycle", percentile(stats.cycle_ms, 50), percentile(stats.cycle_ms, 99), len(stats.cycle_ms)),
        ("take a bundle", percentile(stats.begin_ms, 50), percentile(stats.begin_ms, 99), len(stats.begin_ms)),
    ]
    print()
    for event in events:
        print("restart:", event)
    print(f"\n{'request':<15}{'p50 ms':>10}{'p99 ms':>10}{'n':>8}{'p99/target':>12}")
    for name, p50, p99, n in rows:
        ratio = f"{p99 / TARGET_P99_MS:.2f}" if name != "take a bundle" else "-"
        print(f"{name:<15}{p50:>10.1f}{p99:>10.1f}{n:>8}{ratio:>12}")
    print(
        f"\nanswers acknowledged: {len(stats.acked)} in {window:.1f}s = {rate:.0f} answers/s "
        f"(target {TARGET_ANSWERS_PER_S:.0f}: ratio {rate / TARGET_ANSWERS_PER_S:.2f}); "
        f"assignments taken: {stats.assignments}; retried attempts: {stats.retries}; replayed keys: {stats.replayed}"
    )
    print(
        f"database: {db['stored']} stored, lost {db['lost']}, duplicated trials {db['duplicated_trials']}, "
        f"duplicated keys {db['duplicated_keys']}, answer-counter mismatch {db['counter_mismatch']}, "
        f"stored but unacknowledged at the end {db['stored_not_acked']}"
    )
    n = max(len(stats.acked), 1)
    print(
        f"CPU: {args.server} {server_cpu:.1f}s ({1000 * server_cpu / n:.1f} ms per answer incl. its fetch), "
        f"PostgreSQL {'n/a' if db_cpu is None else f'{db_cpu:.1f}s ({1000 * db_cpu / n:.1f} ms per answer)'}, "
        f"load generator {client_cpu:.1f}s, over {elapsed:.1f}s wall on {os.cpu_count()} cores"
    )
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    if db["lost"] or db["duplicated_trials"] or db["duplicated_keys"] or db["counter_mismatch"]:
        sys.exit("FAILED: an answer was lost or duplicated")


if __name__ == "__main__":
    main()
