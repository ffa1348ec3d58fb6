"""Which server-side paths an import may read: the one policy for the API, the CLI, folder walking and rows.

An import is confined to a list of *roots* (folders, or single files). :func:`allowed_path` is the only
gate: the import API's ``path``, the folder or manifest of a batch, its LICENSES.md and every file of
every batch go through it before anything opens them. A path is allowed when, after resolving symlinks
(``os.path.realpath``), it lies inside one of the roots (also resolved) and exists. Everything else --
``../`` escapes, absolute paths elsewhere, symlinks pointing out, missing files -- gets the same answer,
:data:`NOT_ALLOWED`, so the answer does not tell whether a path outside the roots exists.

Nothing outside the roots is opened, stat()ed or handed to ffmpeg: a path whose normalised form already
lies outside every root is refused without touching the file system at all; only paths that look inside
are resolved (``realpath`` reads the links on the way) and then checked again.

Which roots a batch gets (``annotation.services.imports.batch_roots``): ``MVFIT_IMPORT_ROOTS``, plus
the folder a folder import was pointed at or the folder of the manifest, plus any folder the operator
named with ``import_media --allow-root``. The batch stores them, so a re-run after a crash or a Celery
redelivery enforces exactly the same confinement.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

NOT_ALLOWED = "not found, or outside the folders this import may read"


class PathNotAllowed(Exception):
    """The path is outside the roots or does not exist (deliberately one message for both)."""

    def __init__(self) -> None:
        super().__init__(NOT_ALLOWED)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_roots(roots: Iterable[str | os.PathLike]) -> list[str]:
    """The roots as absolute real paths (symlinks resolved), without duplicates, in order."""
    resolved: list[str] = []
    for root in roots:
        real = os.path.realpath(os.fspath(root))
        if real not in resolved:
            resolved.append(real)
    return resolved


def allowed_path(path: str | os.PathLike, *, roots: Iterable[str | os.PathLike]) -> Path:
    """The real path of ``path`` if it may be read under ``roots``; else :class:`PathNotAllowed`.

    ``roots`` should be real paths already (:func:`resolve_roots`); the lexical pre-check also accepts
    them as written, so a root configured through a symlinked folder still works.
    """
    roots = [os.fspath(r) for r in roots]
    real_roots = resolve_roots(roots)
    lexical = os.path.normpath(os.path.abspath(os.fspath(path)))
    if not any(_inside(lexical, os.path.normpath(root)) for root in [*roots, *real_roots]):
        raise PathNotAllowed()
    real = os.path.realpath(lexical)
    if not any(_inside(real, root) for root in real_roots) or not os.path.exists(real):
        raise PathNotAllowed()
    return Path(real)


def is_allowed(path: str | os.PathLike, *, roots: Iterable[str | os.PathLike]) -> bool:
    try:
        allowed_path(path, roots=roots)
    except PathNotAllowed:
        return False
    return True


def configured_roots() -> list[str]:
    """``settings.MVFIT_IMPORT_ROOTS``, resolved: what the import API may read."""
    from django.conf import settings

    return resolve_roots(settings.MVFIT_IMPORT_ROOTS)
