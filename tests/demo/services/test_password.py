"""The demo keeps one staff password across runs: generated once into the data dir (0600), or from the env."""

from __future__ import annotations

import stat

import pytest

from demo.services.run import PASSWORD_FILE, DemoError, demo_password


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("MVFIT_DEMO_PASSWORD", raising=False)
    settings.DATA_DIR = tmp_path
    return tmp_path


def test_generated_once_kept_private_and_reused(data_dir):
    first = demo_password()
    path = data_dir / PASSWORD_FILE
    assert len(first) >= 12
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert demo_password() == first == demo_password()


def test_the_environment_wins_and_is_not_written(data_dir, monkeypatch):
    monkeypatch.setenv("MVFIT_DEMO_PASSWORD", "from-the-env-123")
    assert demo_password() == "from-the-env-123"
    assert not (data_dir / PASSWORD_FILE).exists()


def test_an_unusable_stored_password_is_a_clear_error(data_dir):
    (data_dir / PASSWORD_FILE).write_text("short\n")
    with pytest.raises(DemoError, match="delete it"):
        demo_password()
