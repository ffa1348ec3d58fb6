"""Import media into the library: a folder, a manifest CSV, a single file or an upload.

Every file is probed and validated first (``annotation.media``); a bad file becomes a REJECTED
ImportItem with the reason while the good ones import. Content identity is the sha256 of the bytes:
importing the same content again is a no-op recorded as DUPLICATE. Each file's import is one
transaction (rows + item + batch counters); its stored copy is removed again if that transaction fails,
so there are never half-created rows or orphan files.

Storage: the original bytes are copied into media storage under a content-addressed name
(``library/<kind>/<sha[:2]>/<sha><ext>``); the source folder is only read ("imported in place"), never
modified, and nothing is written into the repository.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from annotation.files import delete_quietly, is_local, sha256_of, store_copy
from annotation.manifests import LICENSES_FILENAME, ManifestEntry, ManifestError, read_licenses, read_manifest
from annotation.media import MediaInfo, MediaKind, MediaRejected, ValidationRules, check, probe
from annotation.media.render import extract_soundtrack
from annotation.models import ImportBatch, ImportItem, MusicTrack, Video

logger = logging.getLogger(__name__)

# Files a media folder typically carries next to the media; not import candidates.
SIDECAR_SUFFIXES = {".md", ".txt", ".csv", ".json", ".yaml", ".yml", ".pdf", ".html", ".nfo", ".sha256"}
UNLABELLED = "unlabelled"
MANAGED_MEDIA_FOLDERS = ("library", "prepared", "pairings")

Progress = Callable[[ImportItem], None] | None


def validation_rules() -> ValidationRules:
    return ValidationRules(min_duration_s=settings.MVFIT_MIN_MEDIA_DURATION_S)


# --- batches -----------------------------------------------------------------------------------


@transaction.atomic
def create_batch(*, source: str, location: str, user=None, options: dict | None = None) -> ImportBatch:
    return ImportBatch.objects.create(
        source=source,
        location=location,
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
) -> ImportBatch:
    """Import every media file under ``folder`` (recursively). Without ``label``, a file's label is the
    name of the folder it sits in (``jazz/take1.ogg`` -> ``jazz``); without ``kind`` it is inferred
    (a video stream -> video, else music)."""
    batch = create_batch(
        source=ImportBatch.Source.FOLDER,
        location=str(Path(folder).resolve()),
        user=user,
        options={"kind": kind, "label": label, "license": license, "attribution": attribution},
    )
    return run_batch(batch_id=batch.pk, progress=progress)


def import_manifest(*, manifest: Path, user=None, progress: Progress = None) -> ImportBatch:
    """Import the files a manifest CSV lists (see ``annotation.manifests``). Raises ManifestError before
    creating anything if the manifest as a whole is unusable."""
    read_manifest(manifest)  # fail fast on a missing column, before a batch exists
    batch = create_batch(source=ImportBatch.Source.MANIFEST, location=str(Path(manifest).resolve()), user=user)
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
    """Import one local file as its own batch; returns the item (outcome + reason)."""
    path = Path(path)
    batch = create_batch(source=source, location=original_name or str(path), user=user)
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


def queue_batch(*, source: str, location: Path, user=None, options: dict | None = None) -> ImportBatch:
    """Create a folder/manifest batch and run it in a Celery worker after commit (used by the API)."""
    from annotation.tasks import run_import_batch_task

    if source == ImportBatch.Source.MANIFEST:
        read_manifest(location)
    elif not Path(location).is_dir():
        raise NotADirectoryError(f"not a folder: {location}")
    with transaction.atomic():
        batch = create_batch(source=source, location=str(Path(location).resolve()), user=user, options=options)
        transaction.on_commit(lambda: run_import_batch_task.delay(batch.pk))
    batch.refresh_from_db()
    return batch


def run_batch(*, batch_id: int, progress: Progress = None) -> ImportBatch:
    """Import the files of a folder or manifest batch. Safe to run again after a crash: files that
    already have an item in this batch are skipped."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.finished_at:
        return batch
    try:
        entries = _entries_for(batch)
    except (ManifestError, OSError) as exc:
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
    except (ManifestError, OSError):
        return 0


def _finish(batch: ImportBatch) -> ImportBatch:
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now())
    batch.refresh_from_db()
    return batch


def _entries_for(batch: ImportBatch) -> list[ManifestEntry]:
    location = Path(batch.location)
    if batch.source == ImportBatch.Source.MANIFEST:
        return read_manifest(location)
    if batch.source == ImportBatch.Source.FOLDER:
        return folder_entries(location, **batch.options)
    raise ManifestError(f"batch {batch.pk} ({batch.source}) has no file list to run")


def folder_entries(
    folder: Path, *, kind: str | None = None, label: str | None = None, license: str = "", attribution: str = ""
) -> list[ManifestEntry]:
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    credits = read_licenses(folder / LICENSES_FILENAME)
    # Never re-import the library's own stored files (when the folder contains the media storage).
    managed = (
        [Path(default_storage.location).resolve() / sub for sub in MANAGED_MEDIA_FOLDERS]
        if is_local(default_storage)
        else []
    )
    entries = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if any(folder_ in path.resolve().parents for folder_ in managed):
            continue
        if path.suffix.lower() in SIDECAR_SUFFIXES:
            continue
        entry = ManifestEntry(
            path=path.resolve(),
            kind=(kind or "").lower(),
            label=label or (relative.parent.name if relative.parent.name else UNLABELLED),
            license=license,
            attribution=attribution,
        )
        entries.append(entry.with_credit(credits.get(relative.as_posix())))
    return entries


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
    """
    path = Path(entry.path)
    record = {"batch": batch, "path": shown_path or str(path), "kind": entry.kind}
    try:
        if entry.problem:
            raise MediaRejected(entry.problem)
        kind = _parse_kind(entry.kind)
        label = entry.label.strip()
        if not label:
            raise MediaRejected("no label given (scene category for videos, genre for music)")
        if len(label) > 100:
            raise MediaRejected("label longer than 100 characters")
        if not path.is_file():
            raise MediaRejected("file not found" if not path.exists() else "not a regular file")
        digest = sha256_of(path)
        record["sha256"] = digest
        _raise_if_duplicate(digest, kind)
        info = probe(path)
        kind = kind or (MediaKind.VIDEO if info.video else MediaKind.MUSIC)
        record["kind"] = kind.value
        check(info, kind=kind, rules=validation_rules())
        return _create_assets(record, entry, kind, info, digest, original_name or path.name)
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


def _storage_name(folder: str, digest: str, suffix: str) -> str:
    return f"library/{folder}/{digest[:2]}/{digest}{suffix.lower()}"


def _create_assets(
    record: dict, entry: ManifestEntry, kind: MediaKind, info: MediaInfo, digest: str, original_name: str
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
                name = store_copy(entry.path, _storage_name("music", digest, entry.path.suffix))
                stored.append((MusicTrack, name))
                track = _create_track(
                    name=name,
                    digest=digest,
                    original_name=original_name,
                    size_bytes=entry.path.stat().st_size,
                    label=entry.label,
                    info=info,
                    metadata=metadata,
                    common=common,
                )
                return _record(record, ImportItem.Outcome.IMPORTED, track=track)
            name = store_copy(entry.path, _storage_name("video", digest, entry.path.suffix))
            stored.append((Video, name))
            video = Video.objects.create(
                file=name,
                sha256=digest,
                original_name=original_name[:300],
                size_bytes=entry.path.stat().st_size,
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
                track = _create_soundtrack(video, entry, original_name, common, stored)
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
    video: Video, entry: ManifestEntry, original_name: str, common: dict, stored: list
) -> MusicTrack:
    """Extract a music video's audio (stream copy) into a MusicTrack linked to the video: a G pair."""
    with tempfile.TemporaryDirectory(prefix="mvfit-soundtrack-") as tmp:
        audio = Path(tmp) / "soundtrack.mka"
        extract_soundtrack(source=entry.path, output=audio)
        info = probe(audio)
        check(info, kind=MediaKind.MUSIC, rules=validation_rules())
        digest = sha256_of(audio)
        if existing := MusicTrack.objects.filter(sha256=digest).first():
            raise MediaRejected(f"its soundtrack is identical to track #{existing.pk} {existing.original_name!r}")
        name = store_copy(audio, _storage_name("music", digest, ".mka"))
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
