"""atomic_write: a reader sees the old file or the complete new one, never half of one."""

from __future__ import annotations

import os
import stat
import time

import numpy as np
import pytest

from mvfit_common.files import PARTIAL_PREFIX, atomic_write, atomic_write_bytes, atomic_write_text, sha256_of


def test_a_completed_write_replaces_the_target_and_leaves_no_partial(tmp_path):
    target = tmp_path / "deep" / "er" / "out.txt"
    atomic_write_text(target, "old")
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(PARTIAL_PREFIX) and tmp.name.endswith("out.txt")
        tmp.write_text("new")
        assert target.read_text() == "old"  # not published before the block ends
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["out.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial(tmp_path):
    target = atomic_write_bytes(tmp_path / "out.bin", b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_writing_nothing_is_an_error_that_publishes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic_write(tmp_path / "x.csv"):
        pass
    assert not (tmp_path / "x.csv").exists()


def test_the_suffix_is_kept_for_tools_that_infer_a_format(tmp_path):
    with atomic_write(tmp_path / "vectors.npz", durable=True) as tmp:
        np.savez(tmp, a=np.arange(3))  # np.savez would append .npz to a name without it
    with np.load(tmp_path / "vectors.npz") as data:
        assert data["a"].tolist() == [0, 1, 2]


def test_files_get_ordinary_permissions_not_mkstemps_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "shared.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_stale_partials_of_killed_writers_are_removed_but_fresh_ones_kept(tmp_path):
    stale = tmp_path / f"{PARTIAL_PREFIX}dead00000000-out.txt"
    fresh = tmp_path / f"{PARTIAL_PREFIX}live00000000-out.txt"
    other = tmp_path / f"{PARTIAL_PREFIX}dead00000000-other.txt"
    for path in (stale, fresh, other):
        path.write_text("x")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    atomic_write_text(tmp_path / "out.txt", "done")
    assert not stale.exists() and fresh.exists() and other.exists()


def test_sha256_of_matches_hashlib(tmp_path):
    import hashlib

    data = os.urandom(3 * (1 << 20) + 17)
    path = atomic_write_bytes(tmp_path / "blob", data)
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()
