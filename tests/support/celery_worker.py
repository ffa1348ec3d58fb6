"""Start real `celery worker` processes for tests that need one.

Each worker listens on a queue unique to the test session, so concurrent test runs sharing one
Redis never steal each other's tasks, and connects to the same test database as the test process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from webapp.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_current_connection() -> str:
    s = connection.settings_dict
    if s["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("worker tests need PostgreSQL (set DATABASE_URL); SQLite test databases live in memory")
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


@dataclass
class WorkerHandle:
    queue: str
    hostname: str
    process: subprocess.Popen
    log_path: Path
    extra_env: dict = field(default_factory=dict)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log()}")
            replies = celery_app.control.ping(destination=[self.hostname], timeout=0.5)
            if replies:
                return
        raise RuntimeError(f"celery worker {self.hostname} not ready after {timeout}s:\n{self.log()}")

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def descendant_pids(self) -> list[int]:
        """Pool children, their ffmpeg processes, an embedded beat: every process below the worker."""
        found, parents = [], [self.process.pid]
        while parents:
            out = subprocess.run(["pgrep", "-P", ",".join(map(str, parents))], capture_output=True, text=True)
            parents = [int(p) for p in out.stdout.split()]
            found += parents
        return found

    def kill_hard(self) -> None:
        """SIGKILL the worker and every process below it at once, as a power loss (or a container kill) would."""
        for pid in [self.process.pid, *self.descendant_pids()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_hard()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_worker(
    *, queue: str, log_dir: Path, concurrency: int = 1, beat: bool = False, extra_env: dict | None = None
) -> WorkerHandle:
    """Start ``celery worker`` on ``queue`` (with ``beat``: the periodic tasks too, embedded with ``-B``)."""
    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = os.environ.copy()
    env.update(
        {
            "DATABASE_URL": database_url_for_current_connection(),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "PYTHONPATH": str(ROOT),
        }
    )
    env.pop("MVFIT_TEST_DATABASE_NAME", None)
    env.update(extra_env or {})
    log_path = log_dir / f"{hostname.split('@')[0]}.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webapp",
            "worker",
            "--loglevel=INFO",
            f"--hostname={hostname}",
            "-Q",
            queue,
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            *(["--beat", f"--schedule={log_dir / (hostname.split('@')[0] + '-beat-schedule')}"] if beat else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    handle = WorkerHandle(queue=queue, hostname=hostname, process=process, log_path=log_path, extra_env=extra_env or {})
    handle.wait_ready()
    return handle
