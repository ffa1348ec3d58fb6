"""Run one action for many items at the same moment, each in a thread with its own database connection.

The concurrency tests (concurrent joins, completions, budget reservations) all need the same harness:
every thread waits at one barrier, runs its action, and closes its connection; what the actions returned
and what they raised come back to the test, which asserts on them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection


def at_once(action: Callable[[Any], Any], items: Iterable[Any]) -> tuple[list[Any], list[Exception]]:
    """``action(item)`` for every item at the same moment: what the calls returned, and what they raised."""
    items = list(items)
    returned, raised = [], []
    barrier = threading.Barrier(len(items))

    def run(item):
        try:
            barrier.wait()
            returned.append(action(item))
        except Exception as exc:  # collected for the caller to assert on
            raised.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return returned, raised
