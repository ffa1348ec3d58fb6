"""Where the demo's steps report what they do: the management command's stdout/stderr and styles."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _plain(text: str) -> str:
    return text


@dataclass
class Console:
    out: Callable[[str], object]
    err: Callable[[str], object]
    heading: Callable[[str], str] = _plain
    success: Callable[[str], str] = _plain
    verbosity: int = 1
    timings: list[tuple[str, float]] = field(default_factory=list)

    @property
    def progress(self) -> bool:
        return self.verbosity > 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Print the step's heading; afterwards its duration (also kept for the closing summary)."""
        self.out(self.heading(f"==> {title}"))
        began = time.perf_counter()
        yield
        seconds = time.perf_counter() - began
        self.timings.append((title.split(" (")[0], seconds))
        if self.verbosity:
            self.out(f"    done in {duration(seconds)}")
