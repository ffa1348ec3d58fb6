"""Which server-side paths an import may read: the one policy for the API, the CLI, folder walking and rows.

An import is confined to a list of *roots* (folders, or single files). :func:`allowed_path` is the only
gate: the import API's ``path``, the folder or manifest of a batch, its LICENSES.md and every file of
every batch go through it before anything opens them. A path is allowed when, with its symlinks
resolved (what ``os.path.realpath`` gives), it lies inside one of the roots (also resolved) and exists.
Everything else -- ``../`` escapes, absolute paths elsewhere, symlinks pointing out, missing files --
gets the same answer, :data:`NOT_ALLOWED`, so the answer does not tell whether a path outside the roots
exists.

Nothing outside the roots is opened, stat()ed or handed to ffmpeg, not even to resolve a link: the path
is first normalised (``..`` collapsed) and refused without any system call unless it lies inside a root;
it is then resolved one component at a time (``lstat``/``readlink``, like ``realpath``), and each link
target is checked the same way before anything under it is looked at.

Knowingly not covered: someone who can write inside the roots and swaps a checked file for a symlink
between the check and the read (a race; the roots are meant to be folders only staff can write).

Which roots a batch gets (``annotation.services.imports.batch_roots``): ``MVFIT_IMPORT_ROOTS``, plus
the folder a folder import was pointed at or the folder of the manifest, plus any folder the operator
named with ``import_media --allow-root``. The batch stores them, so a re-run after a crash or a Celery
redelivery enforces exactly the same confinement.
"""

from __future__ import annotations

import os
import stat
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


def named_roots(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Roots named by an operator: each as written (absolute) and resolved, so paths below it may be
    named either way (a folder reached through a symlink, ``/tmp`` on macOS)."""
    roots: list[str] = []
    for path in paths:
        for root in (os.path.normpath(os.path.abspath(os.fspath(path))), os.path.realpath(os.fspath(path))):
            if root not in roots:
                roots.append(root)
    return roots


_MAX_LINKS = 40  # as the kernel's ELOOP limit


def _confined_realpath(path: str, lexical_roots: list[str]) -> str | None:
    """``os.path.realpath(path)`` computed without looking at anything outside ``lexical_roots``.

    ``None`` as soon as the path, or the target of a link on the way, lies outside every root. Every
    path handed to ``lstat``/``readlink`` is inside a root or one of its parent folders.
    """
    pending, links = path, 0
    while True:
        if not any(_inside(pending, root) for root in lexical_roots):
            return None
        parts = [part for part in pending.split(os.sep) if part]
        current = os.sep
        for index, part in enumerate(parts):
            candidate = os.path.join(current, part)
            try:
                mode = os.lstat(candidate).st_mode
            except OSError:  # missing (or unreadable): nothing further down can be a link
                return os.path.join(candidate, *parts[index + 1 :])
            if stat.S_ISLNK(mode):
                links += 1
                if links > _MAX_LINKS:
                    return None
                try:
                    target = os.readlink(candidate)
                except OSError:  # replaced meanwhile
                    return None
                pending = os.path.normpath(os.path.join(current, target, *parts[index + 1 :]))
                break
            current = candidate
        else:
            return current


def allowed_path(path: str | os.PathLike, *, roots: Iterable[str | os.PathLike]) -> Path:
    """The real path of ``path`` if it may be read under ``roots``; else :class:`PathNotAllowed`.

    ``roots`` may be written through symlinks (:func:`named_roots` keeps both forms): a path may be
    named below a root as written, and must resolve to a place below a root's real path.
    """
    roots = [os.path.normpath(os.path.abspath(os.fspath(r))) for r in roots]
    real_roots = resolve_roots(roots)
    lexical = os.path.normpath(os.path.abspath(os.fspath(path)))
    real = _confined_realpath(lexical, [*roots, *real_roots])
    if real is None or not any(_inside(real, root) for root in real_roots) or not os.path.exists(real):
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
