"""Import media into the library: a folder, a manifest CSV, a single file or an upload.

Every file is checked before it is opened and probed before it is stored; a bad file becomes a REJECTED
ImportItem with the reason while the good ones import. Cheap checks come first: the row itself (kind,
label, an http(s) ``source_url``, a media file extension), then the import roots
(``annotation.import_roots``: nothing outside them is opened), the file size and the header probe
against the limits on duration and frame size (no decode); only then the sha256, the full decode and
the copy into storage, under a name whose extension comes from the probed container.

Content identity is the sha256 of the bytes: importing the same content again is a no-op recorded as
DUPLICATE. Each file's import is one transaction (rows + item + batch counters); its stored copy is
removed again if that transaction fails, so there are never half-created rows or orphan files.

Storage: the original bytes are copied into media storage under a content-addressed name
(``library/<kind>/<sha[:2]>/<sha><ext>``, ``<ext>`` from the container); the source folder is only read ("imported in place"), never
modified, and nothing is written into the repository.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from annotation.files import delete_quietly, is_local, sha256_of, store_copy
from annotation.import_roots import (
    PathNotAllowed,
    allowed_path,
    configured_roots,
    is_allowed,
    named_roots,
)
from annotation.links import url_problem
from annotation.manifests import LICENSES_FILENAME, ManifestEntry, ManifestError, read_licenses, read_manifest
from annotation.media import (
    MediaInfo,
    MediaKind,
    MediaRejected,
    ValidationRules,
    check,
    check_header,
    probe,
    probe_header,
)
from annotation.media.formats import MEDIA_SUFFIXES, has_media_suffix, stored_suffix
from annotation.media.render import extract_soundtrack
from annotation.models import ImportBatch, ImportItem, MusicTrack, Video

logger = logging.getLogger(__name__)

# Files a media folder typically carries next to the media; not import candidates.
SIDECAR_SUFFIXES = {".md", ".txt", ".csv", ".json", ".yaml", ".yml", ".pdf", ".html", ".nfo", ".sha256"}
UNLABELLED = "unlabelled"
MANAGED_MEDIA_FOLDERS = ("library", "prepared", "pairings")

Progress = Callable[[ImportItem], None] | None


def validation_rules() -> ValidationRules:
    """The configured rules: minimum duration and the limits checked on the header (``MVFIT_MAX_*``)."""
    size = settings.MVFIT_MAX_VIDEO_SIZE.strip().lower()
    try:
        width, height = (int(v) for v in size.split("x")) if size else (0, 0)
    except ValueError as exc:
        raise ValueError(f"MVFIT_MAX_VIDEO_SIZE must look like 1920x1080, not {size!r}") from exc
    return ValidationRules(
        min_duration_s=settings.MVFIT_MIN_MEDIA_DURATION_S,
        max_duration_s=settings.MVFIT_MAX_MEDIA_DURATION_S or None,
        max_video_size=(width, height) if width and height else None,
    )


def max_file_bytes() -> int:
    """The largest media file accepted, by upload (body limit) or server-side import (``MVFIT_MAX_UPLOAD_MB``)."""
    return settings.MVFIT_MAX_UPLOAD_MB * 1024 * 1024


def batch_roots(*, folder: Path | None = None, extra: Iterable[Path | str] = ()) -> list[str]:
    """What a batch may read: ``MVFIT_IMPORT_ROOTS``, the folder it imports (or the manifest's folder),
    and ``extra`` (``import_media --allow-root``). See ``annotation.import_roots``."""
    named = [*([folder] if folder is not None else []), *extra]
    return list(dict.fromkeys([*configured_roots(), *named_roots(named)]))


# --- batches -----------------------------------------------------------------------------------


@transaction.atomic
def create_batch(
    *, source: str, location: str, read_roots: list[str], user=None, options: dict | None = None
) -> ImportBatch:
    return ImportBatch.objects.create(
        source=source,
        location=location,
        read_roots=list(read_roots),
        created_by=user if user and user.is_authenticated else None,
        options=options or {},
    )


def import_folder(
    *,
    folder: Path,
    kind: str | None = None,
    label: str | None = None,
    license: str = "",
    attribution: str = "",
    user=None,
    progress: Progress = None,
    extra_roots: Iterable[Path | str] = (),
) -> ImportBatch:
    """Import every media file under ``folder`` (recursively). Without ``label``, a file's label is the
    name of the folder it sits in (``jazz/take1.ogg`` -> ``jazz``); without ``kind`` it is inferred
    (a video stream -> video, else music). The batch may read the folder, ``MVFIT_IMPORT_ROOTS`` and
    ``extra_roots``: a symlink pointing anywhere else is rejected without being opened."""
    folder = Path(os.path.abspath(folder))
    batch = create_batch(
        source=ImportBatch.Source.FOLDER,
        location=str(folder),
        read_roots=batch_roots(folder=folder, extra=extra_roots),
        user=user,
        options={"kind": kind, "label": label, "license": license, "attribution": attribution},
    )
    return run_batch(batch_id=batch.pk, progress=progress)


def import_manifest(
    *, manifest: Path, user=None, progress: Progress = None, extra_roots: Iterable[Path | str] = ()
) -> ImportBatch:
    """Import the files a manifest CSV lists (see ``annotation.manifests``). Raises ManifestError before
    creating anything if the manifest as a whole is unusable. Rows may name files inside the manifest's
    folder, ``MVFIT_IMPORT_ROOTS`` and ``extra_roots``; any other row is rejected without being opened."""
    manifest = Path(os.path.abspath(manifest))
    roots = batch_roots(folder=manifest.parent, extra=extra_roots)
    read_manifest(manifest, roots=roots)  # fail fast on a missing column, before a batch exists
    batch = create_batch(source=ImportBatch.Source.MANIFEST, location=str(manifest), read_roots=roots, user=user)
    return run_batch(batch_id=batch.pk, progress=progress)


def import_single_file(
    *,
    path: Path,
    kind: str | None,
    label: str,
    title: str = "",
    license: str = "",
    attribution: str = "",
    source_url: str = "",
    user=None,
    source: str = ImportBatch.Source.FILE,
    original_name: str | None = None,
) -> ImportItem:
    """Import one local file as its own batch; returns the item (outcome + reason). The file was named
    explicitly, so the batch may read that file (following a symlink) and nothing else."""
    path = Path(os.path.abspath(path))
    batch = create_batch(source=source, location=original_name or str(path), read_roots=named_roots([path]), user=user)
    entry = ManifestEntry(
        path=path,
        kind=(kind or "").lower(),
        label=label,
        title=title,
        license=license,
        attribution=attribution,
        source_url=source_url,
    )
    shown = f"upload:{original_name}" if source == ImportBatch.Source.UPLOAD and original_name else None
    item = import_entry(batch=batch, entry=entry, original_name=original_name, shown_path=shown)
    _finish(batch)
    return item


def import_upload(*, uploaded: UploadedFile, kind: str, label: str, user=None, **credits: str) -> ImportItem:
    """Import a file received over HTTP (multipart). The upload is probed from a local temporary file."""
    name = Path(uploaded.name or "upload").name
    if hasattr(uploaded, "temporary_file_path"):
        return import_single_file(
            path=Path(uploaded.temporary_file_path()),
            kind=kind,
            label=label,
            user=user,
            source=ImportBatch.Source.UPLOAD,
            original_name=name,
            **credits,
        )
    with tempfile.TemporaryDirectory(prefix="mvfit-upload-") as tmp:
        path = Path(tmp) / name
        with path.open("wb") as fh:
            for chunk in uploaded.chunks():
                fh.write(chunk)
        return import_single_file(
            path=path,
            kind=kind,
            label=label,
            user=user,
            source=ImportBatch.Source.UPLOAD,
            original_name=name,
            **credits,
        )


def run_batch(*, batch_id: int, progress: Progress = None) -> ImportBatch:
    """Import the files of a folder or manifest batch. Safe to run again after a crash: files that
    already have an item in this batch are skipped."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.finished_at:
        return batch
    try:
        entries = _entries_for(batch)
    except (ManifestError, OSError, PathNotAllowed) as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(error=str(exc), finished_at=timezone.now())
        batch.refresh_from_db()
        return batch
    already = set(batch.items.values_list("path", flat=True))
    for entry in entries:
        if str(entry.path) in already:
            continue
        item = import_entry(batch=batch, entry=entry)
        if progress:
            progress(item)
    return _finish(batch)


def count_candidates(batch: ImportBatch) -> int:
    """How many files a batch will look at (for progress bars)."""
    try:
        return len(_entries_for(batch))
    except (ManifestError, OSError, PathNotAllowed):
        return 0


def _finish(batch: ImportBatch) -> ImportBatch:
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now())
    batch.refresh_from_db()
    return batch


def _entries_for(batch: ImportBatch) -> list[ManifestEntry]:
    location = allowed_path(batch.location, roots=batch.read_roots)
    if batch.source == ImportBatch.Source.MANIFEST:
        return read_manifest(location, roots=batch.read_roots)
    if batch.source == ImportBatch.Source.FOLDER:
        return folder_entries(location, roots=batch.read_roots, **batch.options)
    raise ManifestError(f"batch {batch.pk} ({batch.source}) has no file list to run")


def folder_entries(
    folder: Path,
    *,
    roots: Iterable[str | Path] | None = None,
    kind: str | None = None,
    label: str | None = None,
    license: str = "",
    attribution: str = "",
) -> list[ManifestEntry]:
    """The import candidates under ``folder``, found by name only: nothing is opened or stat()ed here.

    Hidden files and documentation sidecars are skipped; any other file is a candidate, and
    ``import_entry`` rejects one without a media extension. Symlinked folders are not followed; a
    symlinked file is listed under its own name and refused by ``import_entry`` if it points outside
    ``roots`` (default: the folder itself).
    """
    roots = [os.fspath(r) for r in roots] if roots is not None else named_roots([folder])
    folder = allowed_path(folder, roots=roots)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    licenses = folder / LICENSES_FILENAME
    credits = read_licenses(licenses) if is_allowed(licenses, roots=roots) else {}
    # Never re-import the library's own stored files (when the folder contains the media storage).
    managed = (
        {os.path.join(os.path.realpath(default_storage.location), sub) for sub in MANAGED_MEDIA_FOLDERS}
        if is_local(default_storage)
        else set()
    )
    entries = []
    for directory, subfolders, files in os.walk(folder):  # symlinked folders are listed, not entered
        here = Path(directory)
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and str(here / d) not in managed]
        for name in files:
            path = here / name
            if name.startswith(".") or path.suffix.lower() in SIDECAR_SUFFIXES:
                continue
            relative = path.relative_to(folder)
            entry = ManifestEntry(
                path=path,
                kind=(kind or "").lower(),
                label=label or (relative.parent.name if relative.parent.name else UNLABELLED),
                license=license,
                attribution=attribution,
            )
            entries.append(entry.with_credit(credits.get(relative.as_posix())))
    return sorted(entries, key=lambda e: e.path)


# --- one file ----------------------------------------------------------------------------------


class _Duplicate(Exception):
    def __init__(self, existing: Video | MusicTrack) -> None:
        super().__init__(
            f"same content (sha256) as {type(existing).__name__.lower()} #{existing.pk} {existing.original_name!r}"
        )
        self.existing = existing


def import_entry(
    *, batch: ImportBatch, entry: ManifestEntry, original_name: str | None = None, shown_path: str | None = None
) -> ImportItem:
    """Import one file into ``batch``; always returns its ImportItem (imported / duplicate / rejected).

    ``shown_path`` replaces the local path in the item (an upload's temporary file means nothing to users).
    The file is opened only if it lies inside ``batch.read_roots`` once symlinks are resolved, and fully
    decoded only once its header is within the limits.
    """
    named = Path(entry.path)
    record = {"batch": batch, "path": shown_path or str(named), "kind": entry.kind}
    try:
        if entry.problem:
            raise MediaRejected(entry.problem)
        kind = _parse_kind(entry.kind)
        label = entry.label.strip()
        if not label:
            raise MediaRejected("no label given (scene category for videos, genre for music)")
        if len(label) > 100:
            raise MediaRejected("label longer than 100 characters")
        if problem := url_problem(entry.source_url):
            raise MediaRejected(f"row {entry.row}: {problem}" if entry.row else problem)
        name = original_name or named.name
        if not has_media_suffix(name):
            raise MediaRejected(
                f"not a media file name ({Path(name).suffix.lower() or 'no extension'}); "
                f"accepted: {', '.join(sorted(MEDIA_SUFFIXES))}"
            )
        try:
            path = allowed_path(named, roots=batch.read_roots)
        except PathNotAllowed as exc:
            raise MediaRejected(str(exc)) from None
        if not path.is_file():
            raise MediaRejected("not a regular file")
        size, rules = path.stat().st_size, validation_rules()
        if size > max_file_bytes():
            raise MediaRejected(
                f"file too large: {size / 2**20:.1f} MB (the limit is {settings.MVFIT_MAX_UPLOAD_MB} MB)"
            )
        check_header(probe_header(path), rules=rules)  # cheap: nothing is decoded before the limits pass
        digest = sha256_of(path)
        record["sha256"] = digest
        _raise_if_duplicate(digest, kind)
        info = probe(path, max_duration_s=rules.max_duration_s)
        kind = kind or (MediaKind.VIDEO if info.video else MediaKind.MUSIC)
        record["kind"] = kind.value
        check(info, kind=kind, rules=rules)
        return _create_assets(record, entry, path, kind, info, digest, name)
    except _Duplicate as dup:
        link = {"video": dup.existing} if isinstance(dup.existing, Video) else {"track": dup.existing}
        return _record(record, ImportItem.Outcome.DUPLICATE, str(dup), **link)
    except MediaRejected as exc:
        return _record(record, ImportItem.Outcome.REJECTED, str(exc))
    except Exception as exc:
        # Anything unexpected (disk full, a bug) rejects this file only; the batch goes on.
        logger.exception("import of %s failed", path)
        return _record(record, ImportItem.Outcome.REJECTED, f"internal error: {type(exc).__name__}: {exc}")


def _parse_kind(raw: str) -> MediaKind | None:
    if not raw:
        return None
    normalised = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return MediaKind(normalised)
    except ValueError:
        raise MediaRejected(f"unknown kind {raw!r} (expected video, music or music_video)") from None


def _raise_if_duplicate(digest: str, kind: MediaKind | None) -> None:
    models_to_check = {MediaKind.VIDEO: [Video], MediaKind.MUSIC_VIDEO: [Video], MediaKind.MUSIC: [MusicTrack]}.get(
        kind, [Video, MusicTrack]
    )
    for model in models_to_check:
        if existing := model.objects.filter(sha256=digest).first():
            raise _Duplicate(existing)


@transaction.atomic
def _record(record: dict, outcome: str, reason: str = "", **links) -> ImportItem:
    item = ImportItem.objects.create(outcome=outcome, reason=reason[:2000], **record, **links)
    counter = {
        ImportItem.Outcome.IMPORTED: "n_imported",
        ImportItem.Outcome.DUPLICATE: "n_duplicate",
        ImportItem.Outcome.REJECTED: "n_rejected",
    }[outcome]
    ImportBatch.objects.filter(pk=record["batch"].pk).update(**{counter: F(counter) + 1})
    return item


def _storage_name(folder: str, digest: str, info: MediaInfo) -> str:
    """Content-addressed name; the extension comes from the probed container, never from the client."""
    suffix = stored_suffix(
        info.container,
        video_codec=info.video.codec if info.video else None,
        audio_codec=info.audio.codec if info.audio else None,
    )
    return f"library/{folder}/{digest[:2]}/{digest}{suffix}"


def _create_assets(
    record: dict,
    entry: ManifestEntry,
    path: Path,
    kind: MediaKind,
    info: MediaInfo,
    digest: str,
    original_name: str,
) -> ImportItem:
    stored: list[tuple[type[models.Model], str]] = []
    try:
        with transaction.atomic():
            common = {
                "title": entry.title or Path(original_name).stem,
                "license": entry.license[:120],
                "attribution": entry.attribution,
                "source_url": entry.source_url[:500],
                "import_batch": record["batch"],
            }
            metadata = {**info.as_metadata(), **({"manifest": entry.metadata} if entry.metadata else {})}
            if kind == MediaKind.MUSIC:
                name = store_copy(path, _storage_name("music", digest, info))
                stored.append((MusicTrack, name))
                track = _create_track(
                    name=name,
                    digest=digest,
                    original_name=original_name,
                    size_bytes=path.stat().st_size,
                    label=entry.label,
                    info=info,
                    metadata=metadata,
                    common=common,
                )
                return _record(record, ImportItem.Outcome.IMPORTED, track=track)
            name = store_copy(path, _storage_name("video", digest, info))
            stored.append((Video, name))
            video = Video.objects.create(
                file=name,
                sha256=digest,
                original_name=original_name[:300],
                size_bytes=path.stat().st_size,
                duration_s=round(info.duration_s, 3),
                codec=info.video.codec,
                container=info.container[:60],
                label=entry.label,
                metadata=metadata,
                width=info.video.width,
                height=info.video.height,
                fps=round(info.video.fps, 3),
                has_audio=info.audio is not None,
                audio_codec=info.audio.codec if info.audio else "",
                **common,
            )
            track = None
            if kind == MediaKind.MUSIC_VIDEO:
                track = _create_soundtrack(video, entry, path, original_name, common, stored)
            return _record(record, ImportItem.Outcome.IMPORTED, video=video, track=track)
    except IntegrityError:
        # Lost a race with a concurrent import of the same content: report it as the duplicate it is.
        _raise_if_duplicate(digest, kind)
        raise
    finally:
        # Undo the stored copies of a failed import. Names are content-addressed, so a copy that a
        # committed row (e.g. the winner of a race) references must stay.
        for model, name in stored:
            if not model.objects.filter(file=name).exists():
                delete_quietly(name)


def _create_track(
    *,
    name: str,
    digest: str,
    original_name: str,
    size_bytes: int,
    label: str,
    info: MediaInfo,
    metadata: dict,
    common: dict,
    **extra,
) -> MusicTrack:
    return MusicTrack.objects.create(
        file=name,
        sha256=digest,
        original_name=original_name[:300],
        size_bytes=size_bytes,
        duration_s=round(info.duration_s, 3),
        codec=info.audio.codec,
        container=info.container[:60],
        label=label,
        metadata=metadata,
        sample_rate=info.audio.sample_rate,
        channels=info.audio.channels,
        **common,
        **extra,
    )


def _create_soundtrack(
    video: Video, entry: ManifestEntry, path: Path, original_name: str, common: dict, stored: list
) -> MusicTrack:
    """Extract a music video's audio (stream copy) into a MusicTrack linked to the video: a G pair."""
    with tempfile.TemporaryDirectory(prefix="mvfit-soundtrack-") as tmp:
        audio = Path(tmp) / "soundtrack.mka"
        extract_soundtrack(source=path, output=audio)
        info = probe(audio)
        check(info, kind=MediaKind.MUSIC, rules=validation_rules())
        digest = sha256_of(audio)
        if existing := MusicTrack.objects.filter(sha256=digest).first():
            raise MediaRejected(f"its soundtrack is identical to track #{existing.pk} {existing.original_name!r}")
        name = store_copy(audio, _storage_name("music", digest, info))
        stored.append((MusicTrack, name))
        return _create_track(
            name=name,
            digest=digest,
            original_name=f"{Path(original_name).stem}.soundtrack.mka",
            size_bytes=audio.stat().st_size,
            label=entry.music_label or entry.label,
            info=info,
            metadata={**info.as_metadata(), "extracted_from_video": video.pk},
            common={**common, "title": f"{common['title']} (soundtrack)"},
            source_video=video,
        )
