"""Imports read nothing outside their roots: every row, symlink and folder, with one message (issue 10, finding 5).

The spies record every path the import stats, lstats, hashes, probes or stores: for a row outside the
roots none of them is ever touched, whether it is a ``../`` escape, an absolute path or a symlink.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from annotation import import_roots
from annotation.import_roots import NOT_ALLOWED, PathNotAllowed, allowed_path
from annotation.models import ImportBatch, ImportItem, MusicTrack
from annotation.services import imports
from tests.support.media import copy_to

IMPORTS = reverse("annotation:api-imports")


# --- the policy itself ---------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    """root/ (the import root) and outside/ next to it, each with a file, plus links between them."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "inside.ogg").write_bytes(b"in")
    (outside / "secret.ogg").write_bytes(b"out")
    (root / "to_outside.ogg").symlink_to(outside / "secret.ogg")
    (root / "to_outside_dir").symlink_to(outside)
    (root / "to_inside.ogg").symlink_to("sub/inside.ogg")
    (root / "loop").symlink_to("loop")
    (tmp_path / "root-evil").mkdir()
    (tmp_path / "root-evil" / "x.ogg").write_bytes(b"prefix trick")
    return root, outside


def test_paths_inside_the_roots_resolve_to_their_real_path(tree):
    root, _ = tree
    roots = [str(root)]
    assert allowed_path(root / "sub" / "inside.ogg", roots=roots) == root / "sub" / "inside.ogg"
    assert allowed_path(root / "to_inside.ogg", roots=roots) == root / "sub" / "inside.ogg"
    assert allowed_path(root / "sub" / ".." / "sub" / "inside.ogg", roots=roots) == root / "sub" / "inside.ogg"
    assert allowed_path(root, roots=roots) == root


@pytest.mark.parametrize(
    "relative",
    [
        "../outside/secret.ogg",  # ../ escape
        "sub/../../outside/secret.ogg",
        "to_outside.ogg",  # symlinked file pointing out
        "to_outside_dir/secret.ogg",  # through a symlinked folder
        "loop",  # a link loop
        "../root-evil/x.ogg",  # a sibling whose name starts with the root's
        "sub/missing.ogg",  # inside, but missing: the same answer
        "/etc/passwd",  # absolute, elsewhere
        "/etc/no-such-file",
    ],
)
def test_everything_else_gets_one_message_without_a_look_outside(tree, monkeypatch, relative):
    root, _ = tree
    looked_at = spy_on_file_system(monkeypatch)

    with pytest.raises(PathNotAllowed) as refused:
        allowed_path(root / relative, roots=[str(root)])

    assert str(refused.value) == NOT_ALLOWED
    assert not [p for p in looked_at if not is_inside_or_parent(p, root)], looked_at


def test_a_root_configured_through_a_symlinked_folder_works_both_ways(tree, tmp_path):
    root, _ = tree
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    assert allowed_path(alias / "sub" / "inside.ogg", roots=[str(alias)]) == root / "sub" / "inside.ogg"
    assert allowed_path(root / "sub" / "inside.ogg", roots=[str(alias)]) == root / "sub" / "inside.ogg"
    with pytest.raises(PathNotAllowed):
        allowed_path(alias / "to_outside.ogg", roots=[str(alias)])
    with pytest.raises(PathNotAllowed):  # named through a link outside the roots: not looked at
        allowed_path(alias / "sub" / "inside.ogg", roots=[str(root)])


SEGMENTS = st.sampled_from(["..", ".", "sub", "inside.ogg", "to_outside.ogg", "to_inside.ogg", "to_outside_dir", "x"])


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(SEGMENTS, min_size=1, max_size=6))
def test_allowed_exactly_when_the_real_path_exists_inside_the_root(tree, parts):
    root, _ = tree
    path = os.path.join(root, *parts)
    expected = os.path.realpath(os.path.normpath(path))
    should_pass = os.path.exists(expected) and (expected == str(root) or expected.startswith(f"{root}{os.sep}"))
    try:
        got = allowed_path(path, roots=[str(root)])
    except PathNotAllowed:
        assert not should_pass, path
    else:
        assert should_pass and str(got) == expected, path


# --- every row of every batch --------------------------------------------------------------------


def is_inside_or_parent(path: str, folder: Path) -> bool:
    path, folder = os.path.normpath(path), str(folder)
    return path == folder or path.startswith(folder + os.sep) or folder.startswith(path.rstrip(os.sep) + os.sep)


def spy_on_file_system(monkeypatch) -> list[str]:
    """Record every path stat()ed or lstat()ed (what ``exists``, ``is_file``, ``realpath`` and opening need)."""
    seen: list[str] = []
    for name in ("stat", "lstat"):
        original = getattr(os, name)

        def spy(path, *args, _original=original, **kwargs):
            if isinstance(path, str | os.PathLike):
                seen.append(os.fspath(path))
            return _original(path, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    return seen


@pytest.fixture
def spies(monkeypatch):
    """Paths the import hashed, probed (ffmpeg) or copied into storage."""
    touched: list[str] = []
    for name in ("sha256_of", "probe_header", "probe", "store_copy"):
        original = getattr(imports, name)

        def spy(path, *args, _original=original, **kwargs):
            touched.append(os.fspath(path))
            return _original(path, *args, **kwargs)

        monkeypatch.setattr(imports, name, spy)
    return touched


@pytest.fixture
def library(tmp_path, media_files, settings):
    """An import root holding a manifest and media, a secret media file outside, and links out."""
    root, outside = tmp_path / "roots" / "media", tmp_path / "outside"
    settings.MVFIT_IMPORT_ROOTS = [root.resolve()]
    copy_to(media_files["music"], root / "good.ogg")
    copy_to(media_files["music2"], outside / "secret.m4a")
    (root / "link.m4a").symlink_to(outside / "secret.m4a")
    (root / "linked_dir").symlink_to(outside)
    rows = [
        "good.ogg",
        "../../outside/secret.m4a",
        str(outside / "secret.m4a"),
        "link.m4a",
        "linked_dir/secret.m4a",
        "missing.ogg",
        "/etc/passwd.ogg",
    ]
    with (root / "manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "kind", "label"])
        writer.writerows([row, "music", "jazz"] for row in rows)
    return root, outside


@pytest.mark.django_db
def test_manifest_rows_outside_the_roots_are_refused_with_one_message_and_never_opened(library, spies, monkeypatch):
    root, outside = library
    looked_at = spy_on_file_system(monkeypatch)

    batch = imports.import_manifest(manifest=root / "manifest.csv")

    reasons = {Path(i.path).name: (i.outcome, i.reason) for i in batch.items.all()}
    assert reasons.pop("good.ogg")[0] == ImportItem.Outcome.IMPORTED
    assert len(batch.items.all()) == 7
    assert set(batch.items.exclude(path__endswith="good.ogg").values_list("reason", flat=True)) == {NOT_ALLOWED}
    assert MusicTrack.objects.get().original_name == "good.ogg"
    assert not [p for p in spies if not p.startswith(str(root))], spies  # no hash, ffmpeg or copy outside
    assert not [p for p in looked_at if str(outside) in os.path.normpath(p) or p.startswith("/etc")], looked_at


@pytest.mark.django_db
def test_symlinks_inside_an_imported_folder_that_point_out_are_refused(tmp_path, media_files, spies, settings):
    settings.MVFIT_IMPORT_ROOTS = []
    folder, outside = tmp_path / "drop", tmp_path / "elsewhere"
    copy_to(media_files["music"], folder / "jazz" / "good.ogg")
    copy_to(media_files["music2"], outside / "secret.m4a")
    (folder / "jazz" / "sneaky.m4a").symlink_to(outside / "secret.m4a")
    (folder / "jazz" / "then_alias.ogg").symlink_to(folder / "jazz" / "good.ogg")  # inside: fine (a duplicate)
    (folder / "linked").symlink_to(outside)  # a symlinked folder is not walked

    batch = imports.import_folder(folder=folder)

    result = {Path(i.path).name: (i.outcome, i.reason) for i in batch.items.all()}
    assert result["sneaky.m4a"] == ("rejected", NOT_ALLOWED)
    assert result["good.ogg"][0] == "imported" and result["then_alias.ogg"][0] == "duplicate"
    assert set(result) == {"good.ogg", "then_alias.ogg", "sneaky.m4a"}
    assert not [p for p in spies if str(outside) in p]


@pytest.mark.django_db
def test_a_batch_keeps_its_roots_so_a_redelivered_run_enforces_the_same(library, settings):
    root, outside = library
    batch = imports.create_batch(
        source=ImportBatch.Source.MANIFEST,
        location=str(root / "manifest.csv"),
        read_roots=imports.batch_roots(folder=root),
    )
    settings.MVFIT_IMPORT_ROOTS = [outside.resolve(), root.resolve()]  # the settings change meanwhile

    finished = imports.run_batch(batch_id=batch.pk)

    assert finished.read_roots == [str(root.resolve())]
    assert (finished.n_imported, finished.n_rejected) == (1, 6)


@pytest.mark.django_db
def test_a_batch_whose_own_location_left_its_roots_stops_with_the_message(library):
    root, outside = library
    batch = imports.create_batch(
        source=ImportBatch.Source.FOLDER, location=str(outside), read_roots=imports.batch_roots(folder=root)
    )
    finished = imports.run_batch(batch_id=batch.pk)
    assert finished.error == NOT_ALLOWED and not finished.items.exists()


@pytest.mark.django_db
def test_the_api_answers_the_same_for_a_missing_path_and_one_outside_the_roots(staff_client, library):
    root, outside = library
    answers = [
        staff_client.post(IMPORTS, {"source": "manifest", "path": path}, content_type="application/json")
        for path in ("/etc/passwd", "/etc/no-such-file", str(outside / "secret.m4a"), str(root / "nope.csv"))
    ]
    assert {a.status_code for a in answers} == {400}
    assert len({a.json()["path"][0] for a in answers}) == 1
    assert answers[0].json()["path"][0].startswith(NOT_ALLOWED)
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_the_api_imports_a_manifest_in_the_roots_but_not_its_rows_outside(
    staff_client, library, django_capture_on_commit_callbacks
):
    root, _ = library
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            IMPORTS, {"source": "manifest", "path": str(root / "manifest.csv")}, content_type="application/json"
        )
    assert response.status_code == 202, response.json()
    batch = ImportBatch.objects.get()
    assert (batch.n_imported, batch.n_rejected) == (1, 6)


# --- the command line --------------------------------------------------------------------------


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_media", *args, stdout=out, verbosity=1)
    return out.getvalue()


@pytest.mark.django_db
def test_the_cli_confines_a_manifest_to_its_folder_and_the_roots_unless_allowed(library, settings):
    root, outside = library
    settings.MVFIT_IMPORT_ROOTS = []  # the CLI still reads the manifest's own folder

    first = run(str(root / "manifest.csv"))
    assert "1 imported, 0 duplicate, 6 rejected" in first
    assert f"link.m4a: {NOT_ALLOWED}" in first

    allowed = run(str(root / "manifest.csv"), "--allow-root", str(outside))
    assert "1 imported, 4 duplicate, 2 rejected" in allowed  # the secret once, then duplicates; /etc still out
    assert "passwd.ogg: " + NOT_ALLOWED in allowed
    with pytest.raises(CommandError, match="--allow-root must name existing folders"):
        run(str(root / "manifest.csv"), "--allow-root", str(outside / "nope"))


def test_the_configured_roots_are_resolved(settings, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    settings.MVFIT_IMPORT_ROOTS = [tmp_path / "alias", tmp_path / "real"]
    assert import_roots.configured_roots() == [str((tmp_path / "real").resolve())]
