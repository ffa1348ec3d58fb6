"""The model registry: where published retrieval models live, shared by ``training`` (writer) and the
experiments app (reader). Standard library only, so the web app can import it without torch.

    <models dir>/<name>/<version>/model.json     format "mvfit-model" (training/retrieval/publish.py)
    <models dir>/<name>/<version>/rankings.csv   query_kind,query_id,candidate_id,rank,score,model_version

Names and versions are 1-64 characters of letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or digit (so they are safe path components). A search source names a model as
``model:<name>@<version>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MODEL_FORMAT = "mvfit-model"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RegistryError(ValueError):
    """A model that is not published, or a registry entry that is not readable."""


def valid_name(value: object) -> bool:
    return isinstance(value, str) and bool(NAME_PATTERN.match(value))


def source_name(name: str, version: str) -> str:
    return f"model:{name}@{version}"


def version_directory(models_dir: str | Path, name: str, version: str) -> Path:
    if not valid_name(name) or not valid_name(version):
        raise RegistryError(
            f"model name {name!r} and version {version!r} must be 1-64 characters of [A-Za-z0-9._-], "
            "starting with a letter or digit."
        )
    return Path(models_dir) / name / version


def read_manifest(models_dir: str | Path, name: str, version: str) -> tuple[Path, dict]:
    """(version directory, model.json contents) of a published model."""
    directory = version_directory(models_dir, name, version)
    path = directory / "model.json"
    if not path.is_file():
        raise RegistryError(
            f"model {name}@{version} is not published ({path} does not exist): "
            f"python -m training publish-model --run RUN --name {name} --version {version} --export EXPORT"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise RegistryError(f"{path} is not an {MODEL_FORMAT!r} manifest.")
    if manifest.get("name") != name or str(manifest.get("version")) != version:
        raise RegistryError(f"{path} describes {manifest.get('name')}@{manifest.get('version')}, not {name}@{version}.")
    if not (directory / "rankings.csv").is_file():
        raise RegistryError(f"model {name}@{version} has no rankings.csv in {directory}.")
    return directory, manifest
