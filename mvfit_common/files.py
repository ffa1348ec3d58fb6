"""Files: atomic writes and content hashes.

Atomic writes: a reader sees the old file or the complete new one, never half of one.

``with atomic_write(target) as tmp:`` — write ``tmp`` (any way: ``open``, ``np.savez``, ffmpeg, ``savefig``);
when the block ends without an exception, ``tmp`` replaces ``target`` in one ``os.replace`` (a rename in
the same directory, hence on the same filesystem). On an exception, or if nothing was written, ``target``
is untouched and ``tmp`` is removed. ``tmp`` keeps ``target``'s name as its suffix
(``.partial-<random>-<name>``), so tools that infer a format from the extension still do, and it is
created with the process' ordinary permissions (umask), not ``mkstemp``'s 0600.

Partial files older than :data:`STALE_PARTIAL_AGE_S` of the same target are debris of a killed writer
and are removed after the next successful write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

PARTIAL_PREFIX = ".partial-"
# A partial file older than this is debris of a killed process, not a write in progress.
STALE_PARTIAL_AGE_S = 3600


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str], *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it becomes ``target`` (see module docstring).

    ``durable`` also flushes the new file to disk before the rename (``fsync``), so that a power loss
    cannot leave an empty file behind a completed write; use it for caches and run records.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:12]}-{final.name}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written for {final}")
        if durable:
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    remove_stale_partials(final)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``target`` atomically; return ``target`` as a Path."""
    with atomic_write(target, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str, *, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; return ``target`` as a Path."""
    return atomic_write_bytes(target, text.encode("utf-8"), durable=durable)


def sha256_of(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def remove_stale_partials(final: Path) -> None:
    """Delete partial files of ``final`` left behind by killed writers (never a fresh one in progress)."""
    cutoff = time.time() - STALE_PARTIAL_AGE_S
    for leftover in final.parent.glob(f"{PARTIAL_PREFIX}*-{final.name}"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
