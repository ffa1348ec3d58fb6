"""Importing media: per-file outcomes with clear reasons, sha256 dedupe, atomic per file."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from annotation.manifests import ManifestError
from annotation.media import probe, run_ffmpeg
from annotation.models import ImportBatch, ImportItem, MusicTrack, Video
from annotation.services import imports
from tests.support.media import copy_to, storage_path, synthetic_music

pytestmark = pytest.mark.django_db


def stored_files() -> list[str]:
    root = Path(default_storage.location) / "library"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def outcomes(batch: ImportBatch) -> dict[str, tuple[str, str]]:
    return {Path(i.path).name: (i.outcome, i.reason) for i in batch.items.all()}


def faststart_copy(src: Path, dst: Path) -> Path:
    run_ffmpeg(["-y", "-loglevel", "error", "-i", str(src), "-c", "copy", "-movflags", "+faststart", str(dst)])
    return dst


@pytest.fixture
def mixed_folder(tmp_path, media_files) -> Path:
    folder = tmp_path / "library"
    copy_to(media_files["video"], folder / "city" / "good_video.mp4")
    copy_to(media_files["music"], folder / "jazz" / "good_music.ogg")
    (folder / "city" / "corrupt.mp4").write_bytes(random.Random(1).randbytes(20_000))
    (folder / "city" / "scrambled.webm").write_bytes(random.Random(2).randbytes(20_000))
    data = media_files["video"].read_bytes()
    (folder / "city" / "truncated_no_index.mp4").write_bytes(data[: len(data) // 2])
    complete = faststart_copy(media_files["video"], tmp_path / "faststart.mp4").read_bytes()
    (folder / "city" / "truncated_tail.mp4").write_bytes(complete[: len(complete) // 2])
    (folder / "jazz" / "notes.bin").write_text("these are my notes, not music\n" * 20)
    (folder / "jazz" / "notes.wav").write_text("these are my notes, not music\n" * 20)
    copy_to(media_files["silent"], folder / "jazz" / "silent.ogg")
    synthetic_music(folder / "jazz", "blip.ogg", duration_s=0.4)
    (folder / "README.md").write_text("sidecar files are not import candidates")
    return folder


def test_a_mixed_folder_imports_the_good_files_and_rejects_each_bad_one_with_its_reason(mixed_folder):
    batch = imports.import_folder(folder=mixed_folder)

    result = outcomes(batch)
    assert result["good_video.mp4"][0] == ImportItem.Outcome.IMPORTED
    assert result["good_music.ogg"][0] == ImportItem.Outcome.IMPORTED
    assert result["corrupt.mp4"] == (
        "rejected",
        "corrupt: not a valid MP4/MOV file (no 'ftyp' header, no 'moov' index)",
    )
    assert result["scrambled.webm"] == ("rejected", "corrupt: not a valid Matroska/WebM file (unreadable EBML header)")
    assert result["notes.bin"][1].startswith("not a media file name (.bin); accepted: .aac, .avi, .flac,")
    assert result["notes.wav"] == (
        "rejected",
        "not a readable audio or video file (corrupt, or a format ffmpeg does not support)",
    )
    assert result["truncated_no_index.mp4"][1].startswith("truncated or incomplete file")
    assert result["truncated_tail.mp4"][1].startswith("truncated:")
    assert result["silent.ogg"][1].startswith("silent: the audio never rises above")
    assert result["blip.ogg"][1].startswith("too short: 0.4")
    assert "README.md" not in result
    assert (batch.n_imported, batch.n_duplicate, batch.n_rejected) == (2, 0, 8)
    assert batch.finished_at is not None

    video = Video.objects.get()
    assert (video.label, video.width, video.height, video.codec) == ("city", 96, 64, "h264")
    assert video.duration_s == pytest.approx(4.0, abs=0.05)
    track = MusicTrack.objects.get()
    assert (track.label, track.codec, track.sample_rate, track.channels) == ("jazz", "vorbis", 44100, 2)
    assert storage_path(video.file.name).read_bytes() == (mixed_folder / "city" / "good_video.mp4").read_bytes()
    assert len(stored_files()) == 2  # nothing stored for rejected files


def test_reimporting_the_same_content_is_a_recorded_no_op(mixed_folder, tmp_path):
    imports.import_folder(folder=mixed_folder)
    renamed = copy_to(mixed_folder / "city" / "good_video.mp4", tmp_path / "elsewhere" / "same_bytes.mp4")

    again = imports.import_folder(folder=mixed_folder)
    single = imports.import_single_file(path=renamed, kind="video", label="other")

    assert (again.n_imported, again.n_duplicate) == (0, 2)
    assert single.outcome == ImportItem.Outcome.DUPLICATE
    assert single.video == Video.objects.get()
    assert "same content (sha256) as video" in single.reason
    assert Video.objects.count() == 1 and MusicTrack.objects.count() == 1
    assert len(stored_files()) == 2


def test_a_music_video_becomes_a_video_and_a_linked_soundtrack(media_files):
    item = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="bars")

    assert item.outcome == ImportItem.Outcome.IMPORTED, item.reason
    video, track = item.video, item.track
    assert track.source_video == video and video.soundtrack == track
    assert video.has_audio and video.audio_codec == "aac"
    assert track.label == "bars" and track.title.endswith("(soundtrack)")
    assert track.duration_s == pytest.approx(video.duration_s, abs=0.1)
    info = probe(storage_path(track.file.name))
    assert info.video is None and info.audio.codec == "aac" and info.max_volume_db > -30


def test_music_video_needs_audible_sound_and_a_picture(media_files):
    no_sound = imports.import_single_file(path=media_files["video"], kind="music_video", label="x")
    no_picture = imports.import_single_file(path=media_files["music"], kind="video", label="x")

    assert no_sound.reason == "no audio stream: cannot import as music_video"
    assert no_picture.reason == "no video stream: cannot import as video (it has only audio)"
    assert not Video.objects.exists() and not MusicTrack.objects.exists()


def test_a_failure_while_creating_rows_leaves_no_rows_and_no_stored_file(media_files, monkeypatch):
    def explode(*args, **kwargs):
        raise OSError("disk full while extracting the soundtrack")

    monkeypatch.setattr(imports, "extract_soundtrack", explode)
    item = imports.import_single_file(path=media_files["music_video"], kind="music_video", label="bars")

    assert item.outcome == ImportItem.Outcome.REJECTED
    assert "disk full" in item.reason
    assert not Video.objects.exists() and not MusicTrack.objects.exists()
    assert stored_files() == []
    assert item.batch.n_rejected == 1


def write_manifest(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_manifest_import_uses_labels_kinds_and_credits(tmp_path, media_files):
    copy_to(media_files["video2"], tmp_path / "video" / "fractal.mp4")
    copy_to(media_files["music2"], tmp_path / "music" / "chords.m4a")
    copy_to(media_files["music_video"], tmp_path / "mv" / "bars.mp4")
    (tmp_path / "LICENSES.md").write_text(
        "## Music\n\n### `music/chords.m4a`\n\n"
        "- licence: **CC-BY-4.0** (https://creativecommons.org/licenses/by/4.0/)\n"
        '- attribution: "Chords" by A. Synth, licensed CC BY 4.0\n'
        "- source: https://github.com/example/sounds , path `audio/Chords Take 1.m4a` , commit `abc123`\n"
    )
    manifest = write_manifest(
        tmp_path / "manifest.csv",
        [
            {"file": "video/fractal.mp4", "kind": "video", "label": "nature-fractal", "license": "CC0-1.0"},
            {"file": "music/chords.m4a", "kind": "music", "label": "ambient", "duration_s": "4.0"},
            {"file": "mv/bars.mp4", "kind": "music_video", "label": "studio", "music_label": "electronic"},
            {"file": "missing.mp4", "kind": "video", "label": "ghost"},
            {"file": "video/fractal.mp4", "kind": "hologram", "label": "x"},
        ],
        ["file", "kind", "label", "music_label", "duration_s", "license"],
    )

    batch = imports.import_manifest(manifest=manifest)

    result = outcomes(batch)
    assert (batch.n_imported, batch.n_rejected) == (3, 2)
    assert result["missing.mp4"] == ("rejected", "not found, or outside the folders this import may read")
    reasons = [i.reason for i in batch.items.filter(kind="hologram")]
    assert reasons == ["unknown kind 'hologram' (expected video, music or music_video)"]
    track = MusicTrack.objects.get(label="ambient")
    assert track.license == "CC-BY-4.0"
    assert track.attribution == '"Chords" by A. Synth, licensed CC BY 4.0'
    assert track.source_url == "https://github.com/example/sounds/blob/abc123/audio/Chords%20Take%201.m4a"
    assert track.metadata["manifest"] == {"duration_s": "4.0"}
    assert Video.objects.get(label="nature-fractal").license == "CC0-1.0"
    assert MusicTrack.objects.get(source_video__label="studio").label == "electronic"


def test_a_manifest_without_required_columns_is_refused_before_anything_happens(tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [{"file": "a.mp4", "genre": "x"}], ["file", "genre"])

    with pytest.raises(ManifestError, match=r"lacks required column\(s\) kind, label; found: file, genre"):
        imports.import_manifest(manifest=manifest)
    assert not ImportBatch.objects.exists()


def test_run_batch_resumes_after_a_crash_without_repeating_finished_files(mixed_folder):
    batch = imports.create_batch(
        source=ImportBatch.Source.FOLDER,
        location=str(mixed_folder),
        read_roots=imports.batch_roots(folder=mixed_folder),
    )
    entries = imports.folder_entries(mixed_folder)
    imports.import_entry(batch=batch, entry=entries[0])  # the worker died after the first file

    finished = imports.run_batch(batch_id=batch.pk)

    assert finished.items.count() == len(entries)
    assert finished.items.filter(path=str(entries[0].path)).count() == 1
    assert finished.n_imported == 2


def test_a_folder_accepts_media_extensions_only_and_names_stored_copies_after_the_container(tmp_path, media_files):
    folder = tmp_path / "drop"
    copy_to(media_files["video"], folder / "city" / "page.htm")  # real video bytes, a page's name
    copy_to(media_files["video"], folder / "city" / "image.svg")
    copy_to(media_files["music"], folder / "jazz" / "track.MP3")  # Ogg bytes, an MP3's name
    copy_to(media_files["music2"], folder / "jazz" / "noext")

    batch = imports.import_folder(folder=folder)

    result = outcomes(batch)
    for name, suffix in [("page.htm", ".htm"), ("image.svg", ".svg"), ("noext", "no extension")]:
        assert result[name] == ("rejected", f"not a media file name ({suffix}); accepted: {ACCEPTED}"), name
    assert result["track.MP3"][0] == "imported"
    assert stored_files() == [f"music/{MusicTrack.objects.get().sha256[:2]}/{MusicTrack.objects.get().sha256}.ogg"]
    assert not Video.objects.exists()


ACCEPTED = ".aac, .avi, .flac, .m4a, .m4v, .mka, .mkv, .mov, .mp3, .mp4, .oga, .ogg, .ogv, .opus, .wav, .webm"


# --- limits, checked on the header before any expensive step (issue 10, finding 10) -------------


@pytest.fixture
def expensive_steps(monkeypatch):
    """Fail the test if the import hashes, fully decodes or stores the file."""
    calls: list[str] = []

    def forbidden(name):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} ran for a file over the limits")

        return call

    for name in ("sha256_of", "probe", "store_copy"):
        monkeypatch.setattr(imports, name, forbidden(name))
    return calls


def uhd_clip(folder: Path) -> Path:
    """One 3840x2160 frame: a 4K file in a few kilobytes."""
    path = folder / "uhd.mp4"
    source = ["-f", "lavfi", "-i", "color=c=black:s=3840x2160:d=1:r=1"]
    run_ffmpeg(["-y", "-loglevel", "error", *source, "-c:v", "libx264", "-preset", "ultrafast", str(path)])
    return path


def test_a_frame_over_the_size_limit_is_refused_from_the_header_alone(tmp_path, settings, expensive_steps):
    settings.MVFIT_MAX_VIDEO_SIZE = "1920x1080"
    item = imports.import_single_file(path=uhd_clip(tmp_path), kind="video", label="city")

    assert (item.outcome, item.reason) == (
        "rejected",
        "frame too large: 3840x2160 (the limit is 1920x1080, either orientation)",
    )
    assert expensive_steps == [] and not Video.objects.exists()


def test_a_file_over_the_duration_limit_is_refused_from_the_header_alone(media_files, settings, expensive_steps):
    settings.MVFIT_MAX_MEDIA_DURATION_S = 2
    item = imports.import_single_file(path=media_files["music"], kind="music", label="jazz")

    assert (item.outcome, item.reason) == ("rejected", "too long: 4.0 s (the limit is 2 s)")
    assert expensive_steps == []


def test_a_file_over_the_size_limit_is_refused_before_ffmpeg_opens_it(media_files, settings, monkeypatch):
    settings.MVFIT_MAX_UPLOAD_MB = 0
    monkeypatch.setattr(imports, "probe_header", lambda *a, **k: pytest.fail("probed a file over the size limit"))
    item = imports.import_single_file(path=media_files["music"], kind="music", label="jazz")
    assert item.reason.startswith("file too large: 0.0 MB (the limit is 0 MB)")


def test_a_header_that_understates_the_duration_still_cannot_buy_an_unbounded_decode(
    media_files, settings, monkeypatch
):
    settings.MVFIT_MAX_MEDIA_DURATION_S = 2.5
    real_header = imports.probe_header

    def lying_header(path, **kwargs):
        info = real_header(path, **kwargs)
        info.declared_duration_s = 1.5  # what a forged container header could claim
        return info

    monkeypatch.setattr(imports, "probe_header", lying_header)
    item = imports.import_single_file(path=media_files["music"], kind="music", label="jazz")

    # The full decode stops at the limit plus one second, and the file is refused as too long.
    assert (item.outcome, item.reason) == ("rejected", "too long: 3.5 s (the limit is 2.5 s)")


def test_files_within_the_limits_import_as_before(media_files, settings):
    settings.MVFIT_MAX_MEDIA_DURATION_S = 5
    settings.MVFIT_MAX_VIDEO_SIZE = "64x96"  # either orientation: the 96x64 test video fits
    item = imports.import_single_file(path=media_files["video"], kind="video", label="city")
    assert item.outcome == "imported", item.reason
