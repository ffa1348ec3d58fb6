"""mvfit against psiTurk 3.3.1 on the same machine, driven by the same load generator.

    python bench/vs_psiturk.py                          # 200 participants x 50 answers, flat out and at ~2 s
    python bench/vs_psiturk.py --rounds 2 --modes flat  # two rounds of the flat-out run only
    python bench/vs_psiturk.py --participants 50 --answers 20 --modes flat,human --human-think-ms 2000

What it does, all on 127.0.0.1 and bounded in time and count:

1. builds psiTurk 3.3.1 into its own virtualenv (``--psiturk-venv``, default
   ``~/.cache/mvfit-bench/psiturk-3.3.1``) with ``--python`` (default ``/usr/bin/python3.11``: psiTurk
   needs Python <= 3.11), pinning ``cryptography==36.0.2`` beside psiTurk's pinned pyOpenSSL 22.0.0
   (newer cryptography breaks that pyOpenSSL at import) and adding psycopg2 for PostgreSQL; an existing
   venv with psiTurk 3.3.1 is reused;
2. copies psiTurk's example experiment (``psiturk-setup-example``) into a temporary directory, points
   its ``config.txt`` at a fresh PostgreSQL database and a free loopback port, and starts it with
   ``psiturk-server`` -- psiTurk's own gunicorn + gevent server with its defaults (2 x cores + 1
   workers);
3. seeds mvfit exactly as ``bench/load.py`` does (a rating study with bundles of 50 trials, k = 9) in
   its own fresh database and starts its web server with the production settings (granian,
   ``python -m webapp.serve``; ``--server gunicorn`` for the alternative);
4. drives each server in turn with the SAME load generator (``bench/load.py``'s ``RawClient``: one
   keep-alive HTTP/1.1 connection per participant, retries of the same request on connection errors and
   5xx): all participants join at once, then each gives ``--answers`` answers with an exponential think
   time of mean ``--think-ms`` (0 = flat out) or ``--human-think-ms`` between them.
   psiTurk: join = ``GET /exp`` (debug mode: participant row, condition), each answer = the data
   record appended to the task data and ``PUT /sync/<uniqueId>`` of the whole JSON, as psiturk.js's
   ``recordTrialData`` + ``saveData`` do. mvfit: join = ``POST api/begin`` (it answers with the state,
   as the runner uses it), each answer = one ``POST api/answers`` (the runner fetches only the first two
   trials; each answer's response carries the trial after next) -- the "cycle" is the trial fetch,
   where there is one, plus the answer;
5. verifies both databases: psiTurk's stored task data holds every participant's acknowledged
   answers once (lost = acknowledged but missing, duplicated = a trial twice); mvfit's
   ``check_database`` (lost, duplicated trials and keys, counters);
6. prints one table: answers/s, answer p50/p99, join p50/p99, server CPU per answer (app processes and
   PostgreSQL, from /proc), lost/duplicated, with the ratios mvfit/psiTurk, and the load average.

The load generator and both servers share the machine's cores; on a shared machine the figures move
with the neighbours' load, so the load average is printed before and after each run.
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import contextlib
import json as jsonlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (bench/load.py: the load generator's client, seed, gunicorn runner)

PSITURK = "psiturk==3.3.1"
PSITURK_PINS = ["cryptography==36.0.2", "psycopg2-binary==2.9.13"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--answers", type=int, default=50, help="answers per participant (<= 50, one bundle)")
    parser.add_argument("--modes", default="flat,human", help="flat (no think time) and/or human (--human-think-ms)")
    parser.add_argument("--human-think-ms", type=float, default=2000.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="hard bound of one server's run")
    parser.add_argument("--python", default="/usr/bin/python3.11", help="interpreter for psiTurk's venv (<= 3.11)")
    parser.add_argument("--psiturk-venv", default=str(Path.home() / ".cache" / "mvfit-bench" / "psiturk-3.3.1"))
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (loopback)")
    parser.add_argument("--only", choices=["both", "mvfit", "psiturk"], default="both")
    parser.add_argument("--server", choices=load.SERVERS, default="granian", help="mvfit's web server")
    args = parser.parse_args()
    if not (1 <= args.participants <= 1000 and 1 <= args.answers <= 50 and 1 <= args.rounds <= 5):
        parser.error("1 <= participants <= 1000, 1 <= answers <= 50, 1 <= rounds <= 5 keep the run bounded")
    if not 0 < args.max_seconds <= 600:
        parser.error("0 < max-seconds <= 600")
    args.modes = [m for m in args.modes.split(",") if m]
    if not set(args.modes) <= {"flat", "human"}:
        parser.error("--modes takes flat and/or human")
    host = args.pg.split("@")[-1].split(":")[0].split("/")[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error(f"the benchmark only runs against a loopback PostgreSQL, not {host!r}")
    return args


# --- psiTurk: venv, example, server ---------------------------------------------------------------


def ensure_psiturk(args) -> Path:
    """psiTurk 3.3.1's virtualenv (built once, then reused); returns its bin directory."""
    venv = Path(args.psiturk_venv)
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import psiturk.version as v, psycopg2; print(v.version_number)"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == "3.3.1":
        return venv / "bin"
    if not Path(args.python).exists():
        sys.exit(f"psiTurk 3.3.1 needs Python <= 3.11: {args.python} does not exist (--python)")
    print(f"building psiTurk's virtualenv in {venv} (once) ...", flush=True)
    subprocess.run([args.python, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", PSITURK, *PSITURK_PINS], check=True)
    check = subprocess.run(probe, capture_output=True, text=True)
    if check.stdout.strip() != "3.3.1":
        sys.exit(f"psiTurk does not import in {venv}:\n{check.stderr[-2000:]}")
    return venv / "bin"


class PsiturkServer:
    """psiTurk's example experiment under ``psiturk-server`` (its gunicorn + gevent), on loopback."""

    def __init__(self, *, bin_dir: Path, database_url: str, port: int, workdir: Path) -> None:
        self.bin_dir, self.port = bin_dir, port
        self.project = workdir / "psiturk-example"
        self.log = workdir / "psiturk.log"
        self.process: subprocess.Popen | None = None
        if not self.project.exists():
            subprocess.run([str(bin_dir / "psiturk-setup-example")], cwd=workdir, check=True, capture_output=True)
        # psiTurk reads config.txt of the working directory over its defaults: only what must differ here.
        config = configparser.RawConfigParser()
        config.read(self.project / "config.txt")
        settings = {
            "Database Parameters": {"database_url": database_url},
            "Server Parameters": {
                "host": "127.0.0.1",
                "port": str(port),
                "accesslog": "/dev/null",
                "logfile": str(self.log),
                "loglevel": "3",
            },
        }
        for section, values in settings.items():
            if not config.has_section(section):
                config.add_section(section)
            for key, value in values.items():
                config.set(section, key, value)
        with (self.project / "config.txt").open("w") as handle:
            config.write(handle)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORT", "DJANGO_SETTINGS_MODULE")}
        env["PATH"] = f"{self.bin_dir}:{env.get('PATH', '')}"
        env["HOME"] = str(self.project)  # no ~/.psiturkconfig of the user
        self.process = subprocess.Popen(
            [str(self.bin_dir / "psiturk-server")],
            cwd=self.project,
            env=env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(self.port, "/", self.process, self.log)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_http(port: int, path: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:] if log.exists() else ''}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer on port {port} within {timeout}s")


# --- the same load generator for both ---------------------------------------------------------------


@dataclass
class Run:
    join_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    acked: dict[str, set] = field(default_factory=dict)  # participant -> acknowledged answer ids
    n_acked: int = 0
    retries: int = 0
    first_ack: float | None = None
    last_ack: float | None = None

    def ack(self, who: str, answer_id) -> None:
        self.acked.setdefault(who, set()).add(answer_id)
        self.n_acked += 1
        now = time.monotonic()
        self.first_ack = self.first_ack or now
        self.last_ack = now


class PsiturkClient:
    """psiTurk's protocol as psiturk.js speaks it."""

    name = "psiTurk 3.3.1"

    async def join(self, client, i: int, run: Run, deadline: float):
        worker, assignment = f"W{i}", f"A{i}"
        path = f"/exp?hitId=debugBENCH&assignmentId={assignment}&workerId={worker}&mode=debug"
        response, ms = await call(client, "GET", path, run, deadline)
        if response.status != 200:
            raise RuntimeError(f"psiTurk join failed: {response.status} {response.body[:200]!r}")
        run.join_ms.append(ms)
        unique_id = f"{worker}:{assignment}"
        task = {
            "condition": 0,
            "counterbalance": 0,
            "assignmentId": assignment,
            "workerId": worker,
            "hitId": "debugBENCH",
            "currenttrial": 0,
            "bonus": 0,
            "data": [],
            "questiondata": {},
            "eventdata": [],
            "useragent": "bench",
            "mode": "debug",
        }
        return unique_id, task

    async def answer(self, client, session, n: int, rng: random.Random, run: Run, deadline: float) -> float:
        unique_id, task = session
        task["data"].append(
            {
                "uniqueid": unique_id,
                "current_trial": n,
                "dateTime": int(time.time() * 1000),
                "trialdata": {"phase": "TEST", "rating": rng.randint(1, 7), "rt": 1000, "trial": n},
            }
        )
        task["currenttrial"] = n + 1
        response, ms = await call(client, "PUT", f"/sync/{unique_id}", run, deadline, json=task)
        if response.status != 200:
            raise RuntimeError(f"psiTurk save failed: {response.status} {response.body[:200]!r}")
        run.ack(unique_id, n)
        return ms


class MvfitClient:
    """mvfit's worker API as the runner (experiments/static/experiments/runner.js) speaks it."""

    name = "mvfit"

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens

    async def join(self, client, i: int, run: Run, deadline: float):
        token = self.tokens[i]
        # As the runner joins: one POST api/begin takes a bundle and answers with the state.
        begun, join_ms = await call(client, "POST", f"/w/s/{token}/api/begin", run, deadline)
        if begun.status != 200:
            raise RuntimeError(f"mvfit join failed: {begun.status} {begun.body[:200]!r}")
        run.join_ms.append(join_ms)
        return token, begun.json(), {}

    async def answer(self, client, session, n: int, rng: random.Random, run: Run, deadline: float) -> float:
        token, state, carried = session
        position = state["unanswered"][n]
        cycle, trial = 0.0, carried.pop(position, None)
        if trial is None:
            fetched, cycle = await call(client, "GET", f"/w/s/{token}/api/trials/{position}", run, deadline)
            if fetched.status != 200:
                raise RuntimeError(f"mvfit trial fetch failed: {fetched.status} {fetched.body[:200]!r}")
            trial = fetched.json()
        key = uuid.uuid4().hex
        body = {
            "idempotency_key": key,
            "assignment": state["assignment"],
            "position": position,
            "rating": rng.randint(1, 7),
            "rt_ms": 1000,
            "play_count": 1,
            "presentation": trial["presentation"],
        }
        answer, ms = await call(client, "POST", f"/w/s/{token}/api/answers", run, deadline, json=body)
        if answer.status != 200:
            raise RuntimeError(f"mvfit answer refused: {answer.status} {answer.body[:200]!r}")
        receipt = answer.json()
        if receipt.get("next"):
            carried[receipt["next"]["position"]] = receipt["next"]
        run.ack(token, key)
        return cycle + ms


async def call(client, method, path, run: Run, deadline: float, json=None):
    stats = load.Stats()
    try:
        return await load.call(client, method, path, stats, deadline, json=json)
    finally:
        run.retries += stats.retries


async def participant(protocol, port: int, i: int, go: asyncio.Event, args, think_ms: float, run: Run, deadline):
    client = load.RawClient("127.0.0.1", port, timeout=60.0)
    rng = random.Random(i)
    try:
        await go.wait()  # every participant joins at the same moment (a HIT just went up)
        session = await protocol.join(client, i, run, deadline)
        for n in range(args.answers):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(rng.expovariate(1000 / think_ms) if think_ms else 0)
            run.cycle_ms.append(await protocol.answer(client, session, n, rng, run, deadline))
    finally:
        client.close()


async def drive(protocol, port: int, args, think_ms: float) -> Run:
    run = Run()
    go = asyncio.Event()
    deadline = time.monotonic() + args.max_seconds
    tasks = [
        asyncio.create_task(participant(protocol, port, i, go, args, think_ms, run, deadline))
        for i in range(args.participants)
    ]
    await asyncio.sleep(0.2)  # every connection task is waiting on the start signal
    go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, load.Done)]
    if errors:
        raise errors[0]
    return run


# --- verification -----------------------------------------------------------------------------------


def check_psiturk(database_url: str, run: Run) -> dict:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT uniqueid, datastring FROM assignments").fetchall()
    stored, lost, duplicated = 0, 0, 0
    by_id = {uid: jsonlib.loads(data or "{}").get("data", []) for uid, data in rows}
    for uid, acked in run.acked.items():
        trials = [record["current_trial"] for record in by_id.get(uid, [])]
        stored += len(trials)
        duplicated += len(trials) - len(set(trials))
        lost += len(acked - set(trials))
    return {"stored": stored, "lost": lost, "duplicated": duplicated, "participants": len(rows)}


def check_mvfit(run: Run) -> dict:
    keys = {k for acked in run.acked.values() for k in acked}
    db = load.check_database(keys)
    return {
        "stored": db["stored"],
        "lost": db["lost"],
        "duplicated": db["duplicated_trials"] + db["duplicated_keys"],
        "counter_mismatch": db["counter_mismatch"],
    }


# --- one server, one mode -----------------------------------------------------------------------------


def measure(name: str, server, drive_it, verify, *, database: str) -> dict:
    """Start the server, drive it, stop it; CPU counts from the server having settled to the last answer
    (PostgreSQL's: the backends of ``database`` only, so neighbours' databases are not counted)."""
    loadavg = os.getloadavg()
    server.start()
    load.wait_settled(server.process.pid)  # every worker process has started, not only the first
    server_cpu, db_cpu = load.tree_cpu(server.process.pid), load.postgres_cpu_seconds(database)
    began = time.monotonic()
    try:
        run = asyncio.run(drive_it())
    finally:
        elapsed = time.monotonic() - began
        server_cpu = load.tree_cpu(server.process.pid) - server_cpu
        db_cpu = (load.postgres_cpu_seconds(database) or 0.0) - db_cpu if db_cpu is not None else None
        server.stop()
    window = (run.last_ack - run.first_ack) if run.first_ack and run.last_ack else elapsed
    n = max(run.n_acked, 1)
    result = {
        "name": name,
        "acked": run.n_acked,
        "rate": run.n_acked / window if window else 0.0,
        "cycle_p50": load.percentile(run.cycle_ms, 50),
        "cycle_p99": load.percentile(run.cycle_ms, 99),
        "join_p50": load.percentile(run.join_ms, 50),
        "join_p99": load.percentile(run.join_ms, 99),
        "cpu_ms": 1000 * (server_cpu + (db_cpu or 0.0)) / n,
        "app_cpu_ms": 1000 * server_cpu / n,
        "db_cpu_ms": None if db_cpu is None else 1000 * db_cpu / n,
        "retries": run.retries,
        "elapsed": elapsed,
        "load_before": loadavg,
        "load_after": os.getloadavg(),
        **verify(run),
    }
    print(
        f"  {name}: {result['acked']} answers in {elapsed:.1f}s, {result['rate']:.0f}/s, "
        f"cycle p99 {result['cycle_p99']:.0f} ms, join p99 {result['join_p99']:.0f} ms, "
        f"cycle p50 {result['cycle_p50']:.0f} ms, join p50 {result['join_p50']:.0f} ms, "
        f"CPU {result['app_cpu_ms']:.1f} + PG {result['db_cpu_ms'] or 0:.1f} ms/answer, "
        f"stored {result['stored']}, lost {result['lost']}, duplicated {result['duplicated']}, "
        f"load {loadavg[0]:.2f} -> {result['load_after'][0]:.2f}",
        flush=True,
    )
    return result


def run_psiturk(args, bin_dir: Path, workdir: Path, think_ms: float) -> dict:
    name = "psiturk_bench"
    load.recreate_database(args.pg, name)
    # psiTurk picks its PostgreSQL column types only for a ``postgres://`` URL (models.py); SQLAlchemy 1.3 takes it.
    database_url = f"postgres://{args.pg.split('://', 1)[1]}/{name}"
    server = PsiturkServer(bin_dir=bin_dir, database_url=database_url, port=load.free_port(), workdir=workdir)
    try:
        return measure(
            "psiTurk 3.3.1",
            server,
            lambda: drive(PsiturkClient(), server.port, args, think_ms),
            lambda run: check_psiturk(database_url, run),
            database=name,
        )
    finally:
        server.stop()
        load.recreate_database(args.pg, name, drop_only=True)


def run_mvfit(args, workdir: Path, think_ms: float) -> dict:
    name = "mvfit_vs_psiturk"
    env = load.bench_env(f"{args.pg}/{name}", str(workdir / "mvfit-data"))
    load.recreate_database(args.pg, name)
    try:
        _, tokens = load.seed(n_participants=args.participants)
        server = load.production_server(env=env, log=workdir / "mvfit.log", kind=args.server)
        try:
            return measure(
                f"mvfit ({args.server}, {server.workers} x {server.threads})",
                server,
                lambda: drive(MvfitClient(tokens), server.port, args, think_ms),
                check_mvfit,
                database=name,
            )
        finally:
            server.stop()
    finally:
        from django.db import connections

        connections.close_all()
        load.recreate_database(args.pg, name, drop_only=True)


# --- report -----------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def report(results: list[tuple[str, int, dict | None, dict | None]]) -> None:
    print(f"\n{'mode':<7}{'round':>6}  {'measure':<26}{'psiTurk 3.3.1':>15}{'mvfit':>12}{'mvfit/psiTurk':>15}")
    for mode, rnd, p, m in results:
        lines = [
            ("answers/s", "rate", "{:.0f}"),
            ("answer p50 ms (cycle)", "cycle_p50", "{:.0f}"),
            ("answer p99 ms (cycle)", "cycle_p99", "{:.0f}"),
            ("join p50 ms", "join_p50", "{:.0f}"),
            ("join p99 ms", "join_p99", "{:.0f}"),
            ("CPU ms/answer (app+PG)", "cpu_ms", "{:.1f}"),
            ("  of which PostgreSQL", "db_cpu_ms", "{:.1f}"),
            ("answers stored", "stored", "{}"),
            ("lost / duplicated", None, None),
        ]
        for label, key, fmt in lines:
            if key is None:
                pv = f"{p['lost']} / {p['duplicated']}" if p else "-"
                mv = f"{m['lost']} / {m['duplicated']}" if m else "-"
                r = ""
            else:
                pv = fmt.format(p[key]) if p and p[key] is not None else "-"
                mv = fmt.format(m[key]) if m and m[key] is not None else "-"
                r = ratio(m and m[key], p and p[key]) if key not in ("stored",) else ""
            print(f"{mode:<7}{rnd:>6}  {label:<26}{pv:>15}{mv:>12}{r:>15}")
        loads = [x["load_before"][0] for x in (p, m) if x] + [x["load_after"][0] for x in (p, m) if x]
        print(f"{mode:<7}{rnd:>6}  {'load average (1 min)':<26}{min(loads):>15.2f}{max(loads):>12.2f}   (min / max)")
    print(f"\nmachine: {os.cpu_count()} cores; load now {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")


def main() -> None:
    args = parse_args()
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min), {os.cpu_count()} cores")
    bin_dir = ensure_psiturk(args) if args.only in ("both", "psiturk") else None
    results = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="mvfit-vs-psiturk-") as tmp:
        workdir = Path(tmp)
        for rnd in range(1, args.rounds + 1):
            for mode in args.modes:
                think_ms = 0.0 if mode == "flat" else args.human_think_ms
                print(f"round {rnd}, {mode} ({args.participants} x {args.answers}, think {think_ms:.0f} ms):")
                p = run_psiturk(args, bin_dir, workdir, think_ms) if bin_dir else None
                m = run_mvfit(args, workdir, think_ms) if args.only in ("both", "mvfit") else None
                results.append((mode, rnd, p, m))
                failed |= any(x and (x["lost"] or x["duplicated"]) for x in (p, m))
    report(results)
    if failed:
        sys.exit("FAILED: an answer was lost or duplicated")


if __name__ == "__main__":
    main()
