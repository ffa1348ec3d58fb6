"""Read import manifests (CSV) and licence notes (LICENSES.md) into plain records.

Manifest CSV: one row per file with at least ``path`` (or ``file``), ``kind`` and ``label``; optional
``music_label`` (genre of a music video's soundtrack), ``title``, ``license``, ``attribution``,
``source_url``; any other column (``duration_s``, ``source_repo``, ...) is kept as metadata. Relative
paths are relative to the manifest's folder. Paths are only normalised (joined to that folder, ``..``
collapsed, symlinks not resolved): whether a row may be read at all is decided when it is imported (``annotation.import_roots``).

LICENSES.md (optional, next to the manifest or in the imported folder): sections headed
``### `relative/path` `` with bullet lines ``- licence: **ID** (url)``, ``- attribution: text`` and
``- source: https://github.com/owner/repo , path `p` , commit `sha` ``. They fill in the credits that
the manifest leaves blank (the manifest wins where both say something).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from annotation.import_roots import is_allowed

PATH_COLUMNS = ("path", "file")
REQUIRED_COLUMNS = ("kind", "label")
KNOWN_COLUMNS = {
    *PATH_COLUMNS,
    "kind",
    "label",
    "music_label",
    "title",
    "license",
    "licence",
    "attribution",
    "source_url",
}
LICENSES_FILENAME = "LICENSES.md"


class ManifestError(ValueError):
    """The manifest as a whole cannot be used (unreadable, or required columns missing)."""


@dataclass(frozen=True)
class Credit:
    license: str = ""
    attribution: str = ""
    source_url: str = ""


@dataclass
class ManifestEntry:
    """One file to import, as described by a manifest row (or by the folder importer)."""

    path: Path
    kind: str
    label: str
    row: int | None = None
    music_label: str = ""
    title: str = ""
    license: str = ""
    attribution: str = ""
    source_url: str = ""
    metadata: dict = field(default_factory=dict)
    problem: str = ""  # set when the row itself is unusable; the file is then rejected with this reason

    def with_credit(self, credit: Credit | None) -> ManifestEntry:
        if credit:
            self.license = self.license or credit.license
            self.attribution = self.attribution or credit.attribution
            self.source_url = self.source_url or credit.source_url
        return self


def read_manifest(manifest: Path, *, roots: Iterable[str | Path] | None = None) -> list[ManifestEntry]:
    """Parse a manifest CSV. Raises :class:`ManifestError` for problems that affect every row.

    ``roots`` (default: the manifest's folder) confine the LICENSES.md next to it; the caller has checked
    the manifest itself.
    """
    manifest = Path(os.path.abspath(manifest))
    if not manifest.is_file():
        raise ManifestError(f"manifest not found: {manifest}")
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{manifest.name} is not UTF-8 text: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if not columns:
        raise ManifestError(f"{manifest.name} is empty: expected a header row with path,kind,label")
    path_column = next((c for c in PATH_COLUMNS if c in columns), None)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if path_column is None:
        missing.insert(0, "path (or file)")
    if missing:
        raise ManifestError(
            f"{manifest.name} lacks required column(s) {', '.join(missing)}; found: {', '.join(columns) or 'none'}"
        )
    licenses = manifest.parent / LICENSES_FILENAME
    allowed = is_allowed(licenses, roots=roots if roots is not None else [manifest.parent])
    credits = read_licenses(licenses) if allowed else {}
    entries = []
    for row_number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        relative = row.get(path_column, "")
        entry = ManifestEntry(
            path=Path(os.path.normpath(manifest.parent / relative)) if relative else manifest.parent,
            kind=row.get("kind", "").lower(),
            label=row.get("label", ""),
            row=row_number,
            music_label=row.get("music_label", ""),
            title=row.get("title", ""),
            license=row.get("license", "") or row.get("licence", ""),
            attribution=row.get("attribution", ""),
            source_url=row.get("source_url", ""),
            metadata={k: v for k, v in row.items() if k not in KNOWN_COLUMNS and v},
        )
        if not relative:
            entry.problem = f"row {row_number}: empty {path_column}"
        elif not entry.label:
            entry.problem = f"row {row_number}: empty label"
        entry.with_credit(credits.get(relative))
        if not entry.source_url and re.fullmatch(r"[\w.-]+/[\w.-]+", entry.metadata.get("source_repo", "")):
            entry.source_url = f"https://github.com/{entry.metadata['source_repo']}"
        entries.append(entry)
    return entries


_HEADING = re.compile(r"^#{2,4}\s+`(?P<path>[^`]+)`\s*$")
_BULLET = re.compile(r"^\s*[-*]\s+(?P<key>[A-Za-z ]+):\s*(?P<value>.+?)\s*$")
_LICENCE_VALUE = re.compile(r"^\*\*(?P<id>.+?)\*\*")
_SOURCE = re.compile(
    r"(?P<repo>https?://\S+?)\s*,\s*path\s+`(?P<path>[^`]+)`(?:\s*,\s*commit\s+`(?P<commit>[0-9a-f]+)`)?"
)


def read_licenses(path: Path) -> dict[str, Credit]:
    """Credits per relative file path from a LICENSES.md (empty if the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return {}
    credits: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if heading := _HEADING.match(line):
            current = credits.setdefault(heading["path"].strip(), {})
            continue
        if current is None or not (bullet := _BULLET.match(line)):
            continue
        key, value = bullet["key"].strip().lower(), bullet["value"]
        if key in {"licence", "license"}:
            match = _LICENCE_VALUE.match(value)
            current["license"] = (match["id"] if match else value).strip()
        elif key == "attribution":
            current["attribution"] = value
        elif key == "source" and (source := _SOURCE.search(value)):
            repo = source["repo"].rstrip("/")
            if source["commit"] and "github.com" in repo:
                current["source_url"] = f"{repo}/blob/{source['commit']}/{quote(source['path'])}"
            else:
                current["source_url"] = repo
    return {p: Credit(**fields) for p, fields in credits.items()}
