"""``manifest.json``: provenance (what wrote the export, when, from which experiments), the format version,
software versions, row counts and a SHA-256 per data file. It is written last, so its checksums describe
the files as they were completed.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exportformat.errors import ExportError
from exportformat.schema import FORMAT_NAME, FORMAT_VERSION, MANIFEST, SUPPORTED_VERSIONS, format_timestamp
from mvfit_common.files import sha256_of

MANIFEST_FILE = "manifest.json"
# What a writer says about an export; the rest of the manifest is computed.
PROVENANCE_KEYS = ("exported_at", "source", "experiments", "pseudonymised", "simulation", "assignments")


def file_entry(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_of(path)}


def software_versions() -> dict[str, str]:
    import pandas
    import pyarrow

    return {"python": platform.python_version(), "pandas": pandas.__version__, "pyarrow": pyarrow.__version__}


def build_manifest(
    provenance: Mapping[str, Any], *, row_counts: Mapping[str, int], files: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The manifest of an export written now: the writer's ``provenance`` plus everything computed."""
    unknown = sorted(set(provenance) - set(PROVENANCE_KEYS))
    if unknown:
        raise ExportError(
            f"manifest: unknown key(s) {', '.join(unknown)}; a writer gives only {', '.join(PROVENANCE_KEYS)}."
        )
    values = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "exported_at": format_timestamp(datetime.now(UTC)),
        "pseudonymised": True,
        "simulation": None,
        **provenance,
        "row_counts": dict(row_counts),
        "files": {name: dict(entry) for name, entry in files.items()},
        "software": software_versions(),
    }
    manifest = {key: values[key] for key in MANIFEST if key in values}
    check_manifest(manifest, place=MANIFEST_FILE)
    return manifest


def check_manifest(manifest: Any, *, place: str) -> dict[str, Any]:
    """The manifest if it is one this reader understands; an :class:`ExportError` saying what is wrong if not."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ExportError(f"{place}: 'format' must be {FORMAT_NAME!r}; this is not an mvfit export manifest.")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        supported = ", ".join(map(str, sorted(SUPPORTED_VERSIONS)))
        raise ExportError(
            f"{place}: format_version {version!r} is not supported (this reader reads version {supported}); "
            "read it with the mvfit version that wrote it, or upgrade mvfit."
        )
    for key in MANIFEST.values():
        if key.since > version:
            continue
        if key.name not in manifest:
            if key.required:
                raise ExportError(f"{place}: the key {key.name!r} is missing ({key.meaning}).")
            continue
        value = manifest[key.name]
        if not isinstance(value, key.types) or (isinstance(value, bool) and bool not in key.types):
            raise ExportError(f"{place}: {key.name!r} must be {key.type_text}, not {type(value).__name__}.")
    for table, count in manifest["row_counts"].items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ExportError(f"{place}: row_counts[{table!r}] must be a row count, not {count!r}.")
    for name, entry in manifest.get("files", {}).items():
        if not (
            isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("bytes"), int)
        ):
            raise ExportError(f"{place}: files[{name!r}] must be {{'bytes': <int>, 'sha256': <hex>}}.")
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of the export directory ``root``."""
    file = root / MANIFEST_FILE
    if not file.exists():
        raise ExportError(f"{root}: manifest.json is missing, so this is not an mvfit export directory.")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{file}: invalid JSON ({exc}).") from exc
    return check_manifest(manifest, place=str(file))
