"""Media file access for every app: local paths for ffmpeg, and atomic writes into the configured storage.

ffmpeg and the training code need real paths, but media may live in S3. Use:

* :func:`local_path` — ``with local_path(video.file) as path:`` gives a readable local path. For local
  storage it is the stored file itself (no copy); for S3 the object is downloaded to a temporary file that
  is deleted when the block ends.
* :func:`atomic_output` — ``with atomic_output(name) as tmp:`` write ``tmp``; on success it becomes the
  storage file ``name`` in one step (locally :func:`mvfit_common.files.atomic_write`, an ``os.replace`` in
  the same directory; a single PUT for S3), so a reader never sees a half-written file. On an exception
  nothing is published and ``tmp`` is removed.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db.models.fields.files import FieldFile

from mvfit_common.files import PARTIAL_PREFIX, atomic_write, sha256_of

__all__ = [
    "PARTIAL_PREFIX",
    "atomic_output",
    "delete_quietly",
    "is_local",
    "local_path",
    "sha256_of",
    "storage_file_exists",
    "store_copy",
]


def is_local(storage: Storage) -> bool:
    """True if the storage keeps files on this machine's filesystem (``storage.path`` works)."""
    try:
        storage.path("probe")
    except NotImplementedError:
        return False
    return True


@contextlib.contextmanager
def local_path(field_file: FieldFile) -> Iterator[Path]:
    """A local filesystem path with the content of ``field_file`` (see module docstring)."""
    if not field_file:
        raise ValueError("the file field is empty")
    storage = field_file.storage
    if is_local(storage):
        path = Path(storage.path(field_file.name))
        if not path.exists():
            raise FileNotFoundError(f"{field_file.name} is missing from media storage ({path})")
        yield path
        return
    suffix = Path(field_file.name).suffix
    with tempfile.TemporaryDirectory(prefix="mvfit-dl-") as tmp:
        path = Path(tmp) / f"download{suffix}"
        with storage.open(field_file.name, "rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        yield path


def storage_file_exists(name: str, *, storage: Storage | None = None) -> bool:
    return bool(name) and (storage or default_storage).exists(name)


@contextlib.contextmanager
def atomic_output(name: str, *, storage: Storage | None = None) -> Iterator[Path]:
    """Yield a temporary local path; on success publish it as storage file ``name`` (overwriting)."""
    storage = storage or default_storage
    if is_local(storage):
        with atomic_write(storage.path(name)) as tmp:
            yield tmp
        return
    with tempfile.TemporaryDirectory(prefix="mvfit-out-") as tmpdir:
        tmp = Path(tmpdir) / Path(name).name
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written for {name}")
        with tmp.open("rb") as fh:
            # S3 PUTs are atomic: the object appears complete or not at all. The S3 storage is configured
            # with file_overwrite=True, so the deterministic name is kept (no random suffix).
            saved = storage.save(name, File(fh, name=name))
        if saved != name:
            storage.delete(saved)
            raise RuntimeError(f"storage renamed {name!r} to {saved!r}: enable file_overwrite for this storage")


def store_copy(source: Path, name: str, *, storage: Storage | None = None) -> str:
    """Copy a local file into storage as ``name`` atomically; return the name."""
    with atomic_output(name, storage=storage) as tmp:
        shutil.copyfile(source, tmp)
    return name


def delete_quietly(name: str, *, storage: Storage | None = None) -> None:
    """Remove a stored file, ignoring a file that is already gone (used to undo a failed import)."""
    if name:
        with contextlib.suppress(FileNotFoundError):
            (storage or default_storage).delete(name)


def models_dir() -> Path:
    """The model registry of this installation: ``DATA_DIR/models`` (training writes ``$MVFIT_DATA_DIR/models``)."""
    from django.conf import settings

    return Path(settings.DATA_DIR) / "models"
