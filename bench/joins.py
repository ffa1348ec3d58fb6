"""Bursts of joins against a warm web server: how long a burst takes, and where each join's CPU goes.

    python bench/joins.py                       # 2 bursts of 180 joins (the seeded study holds 360 bundles)
    python bench/joins.py --joins 100 --bursts 3

A study launch is a burst of joins (every worker who took a HIT presses Start at about the same time).
This seeds a fresh database as ``bench/load.py`` does (a rating study of 360 bundles of 50 trials),
starts the web server with the production settings (granian, or ``--server gunicorn``; a pool of one
connection per thread), and sends each burst as ``--joins`` simultaneous ``POST api/begin`` -- the
runner's join, one request that hands out a bundle and answers with the state -- each on its own
keep-alive connection, as browsers would. Per burst it prints the time until the last join is answered,
the join latency p50/p99, and the CPU each join cost the web server (its processes, from /proc), the
PostgreSQL backends of the bench database, and this load generator. Everything shares the machine's
cores, so the burst takes at least (sum of the three) x joins / cores. Loopback only; the database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # bench/load.py: seed, server runner, raw client, CPU of the server and PostgreSQL

BUNDLES = 360  # what load.seed plans: 100 clips x 20 excerpts x 9 judgments / 50 trials


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--joins", type=int, default=180, help="simultaneous joins per burst")
    parser.add_argument("--bursts", type=int, default=2)
    parser.add_argument("--server", choices=load.SERVERS, default="granian")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server (loopback)")
    parser.add_argument("--db", default="mvfit_joins")
    args = parser.parse_args()
    if min(args.joins, args.bursts) < 1 or args.joins * args.bursts > BUNDLES:
        parser.error(f"joins x bursts must be 1-{BUNDLES}: the seeded study has {BUNDLES} bundles")
    host = args.pg.split("@")[-1].split(":")[0].split("/")[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error(f"the benchmark only runs against a loopback PostgreSQL, not {host!r}")
    return args


async def join(port: int, token: str, latencies: list[float]) -> None:
    client = load.RawClient("127.0.0.1", port, timeout=60.0)
    try:
        started = time.perf_counter()
        response = await client.request("POST", f"/w/s/{token}/api/begin")
        if response.status != 200:
            raise RuntimeError(f"join refused: {response.status} {response.body[:200]!r}")
        latencies.append((time.perf_counter() - started) * 1000)
    finally:
        client.close()


async def burst(port: int, tokens: list[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(join(port, token, latencies) for token in tokens))
    return (time.perf_counter() - started) * 1000, latencies


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mvfit-joins-"))
    env = load.bench_env(f"{args.pg}/{args.db}", str(workdir / "data"))
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min), {os.cpu_count()} cores")
    load.recreate_database(args.pg, args.db)
    server = None
    try:
        _, tokens = load.seed(n_participants=args.joins * args.bursts)
        server = load.production_server(env=env, log=workdir / "server.log", kind=args.server)
        server.start()
        load.wait_settled(server.process.pid)
        print(
            f"{args.server} {server.workers} x {server.threads}; {args.bursts} bursts of {args.joins} joins (POST api/begin)"
        )
        for number in range(args.bursts):
            batch = tokens[number * args.joins : (number + 1) * args.joins]
            web, db, generator = (
                load.tree_cpu(server.process.pid),
                load.postgres_cpu_seconds(args.db),
                time.process_time(),
            )
            wall, latencies = asyncio.run(burst(server.port, batch))
            web = load.tree_cpu(server.process.pid) - web
            db = (load.postgres_cpu_seconds(args.db) or 0.0) - (db or 0.0)
            generator = time.process_time() - generator
            per_join = {
                name: 1000 * seconds / args.joins for name, seconds in (("web", web), ("pg", db), ("gen", generator))
            }
            print(
                f"burst {number + 1}: all {args.joins} answered in {wall:.0f} ms; join p50 "
                f"{load.percentile(latencies, 50):.0f} ms, p99 {load.percentile(latencies, 99):.0f} ms; CPU per join: "
                f"web {per_join['web']:.2f} + PostgreSQL {per_join['pg']:.2f} + load generator {per_join['gen']:.2f} ms; "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            time.sleep(1)
    finally:
        if server is not None:
            server.stop()
        from django.db import connections

        connections.close_all()
        load.recreate_database(args.pg, args.db, drop_only=True)


if __name__ == "__main__":
    main()
