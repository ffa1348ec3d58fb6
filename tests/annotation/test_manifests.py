"""Manifest and LICENSES.md parsing, including the real shared sample library when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from annotation.manifests import ManifestError, read_licenses, read_manifest


def test_licenses_md_sections_become_credits(tmp_path):
    notes = tmp_path / "LICENSES.md"
    notes.write_text(
        "# Licences\n\n### `video/a.mp4`\n\n- label: x\n- licence: **CC0-1.0** (https://example.org)\n"
        "- attribution: A by B, CC0\n- source: https://github.com/o/r , path `dir/a b.mp4` , commit `deadbeef`\n\n"
        "### `music/b.ogg`\n\n- license: Public domain\n"
    )
    credits = read_licenses(notes)
    assert credits["video/a.mp4"].license == "CC0-1.0"
    assert credits["video/a.mp4"].attribution == "A by B, CC0"
    assert credits["video/a.mp4"].source_url == "https://github.com/o/r/blob/deadbeef/dir/a%20b.mp4"
    assert credits["music/b.ogg"].license == "Public domain"
    assert read_licenses(tmp_path / "absent.md") == {}


def test_rows_with_problems_are_flagged_not_fatal(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,kind,label,notes\n,video,x,\na.mp4,video,,hi\n\nb.ogg,MUSIC,jazz,n\n")
    entries = read_manifest(manifest)
    assert [e.problem for e in entries] == ["row 2: empty path", "row 3: empty label", ""]
    assert entries[2].kind == "music" and entries[2].path == (tmp_path / "b.ogg").resolve()
    assert entries[2].metadata == {"notes": "n"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("name,kind,label\n", r"lacks required column\(s\) path \(or file\)"),
        ("file,label\n", r"lacks required column\(s\) kind"),
    ],
)
def test_unusable_manifests_are_refused_as_a_whole(tmp_path, text, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_manifest(manifest)


shared = Path(settings.MVFIT_SHARED_MEDIA_DIR)
if not (shared / "manifest.csv").exists():
    shared = Path("/work/shared/media")


@pytest.mark.skipif(not (shared / "manifest.csv").exists(), reason="the shared sample library is not on this machine")
def test_the_shared_sample_manifest_reads_with_credits_for_every_file():
    entries = read_manifest(shared / "manifest.csv")
    assert len(entries) == 37
    assert {e.kind for e in entries} == {"video", "music"}
    assert all(e.path.is_file() and e.license and e.attribution for e in entries)
    vibe = next(e for e in entries if e.path.name == "jazz__macleod_vibe_ace.ogg")
    assert vibe.label == "jazz"
    assert vibe.attribution.startswith('"Vibe Ace" by Kevin MacLeod')
    assert vibe.source_url.startswith("https://github.com/librosa/data/blob/450cdd8a")
