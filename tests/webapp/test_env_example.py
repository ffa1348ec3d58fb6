"""`.env.example` lists every environment variable the project reads (settings, code, scripts, compose)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_READS = [
    # The settings' env object, os.environ / os.getenv, and env-var name constants (training/weights.py).
    re.compile(r"""(?:\benv(?:\.\w+)?\(|os\.environ\.get\(|os\.environ\[|os\.getenv\()\s*["']([A-Z][A-Z0-9_]+)["']"""),
    re.compile(r"""^ENV_\w+\s*=\s*["']([A-Z][A-Z0-9_]+)["']""", re.MULTILINE),
]
# Shell scripts and docker compose: ${NAME}, ${NAME:-default}, ${NAME?error}.
SHELL_READS = [re.compile(r"\$\{([A-Z][A-Z0-9_]+)[:?}-]")]
# Read only to be passed on, never configured by a user of mvfit.
NOT_CONFIGURATION = {"BASH_SOURCE", "DJANGO_SETTINGS_MODULE", "PATH"}  # PATH: extended for a subprocess


def _tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split()]


def test_every_variable_read_anywhere_is_in_env_example():
    files = _tracked("*.py", "*.sh", "docker/*.yaml", ".ci/run")
    assert any(f.name == "settings.py" for f in files)
    read = {
        name
        for f in files
        for pattern in (PYTHON_READS if f.suffix == ".py" else SHELL_READS)
        for name in pattern.findall(f.read_text(encoding="utf-8"))
    }
    documented = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8")))
    assert {"DJANGO_SECRET_KEY", "MVFIT_PSEUDONYM_KEY", "MVFIT_RESNET50_WEIGHTS"} <= read  # the scan finds them
    assert sorted(read - NOT_CONFIGURATION - documented) == []
