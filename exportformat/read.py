"""Read an export directory into typed, validated DataFrames.

Strict about the contract: a missing manifest or an unknown ``format_version``, a missing column, a cell
that does not parse as its type, a value outside its allowed set or range, a broken row rule, an
unreadable Parquet file — each is an :class:`ExportError` naming the file, the column (or rule) and the
line(s) or row(s). Lenient about what may legitimately be absent: a table whose files are missing reads
as zero rows with a note (unless the caller ``require``\\ s it), and columns or tables newer than the
export's version read as empty. Row counts and checksums that disagree with ``manifest.json`` are notes;
with ``verify=True`` they are errors, and the CSV and Parquet twins of every table must hold the same data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exportformat import codec
from exportformat.errors import ExportError
from exportformat.frames import PANDAS_DTYPES, Place, empty_table, first_difference, validate
from exportformat.manifest import MANIFEST_FILE, read_manifest
from exportformat.schema import TABLES, Table
from mvfit_common.files import sha256_of

FILE_FORMATS = ("auto", "csv", "parquet")


@dataclass
class Export:
    """One export as read: the manifest, the typed tables by name, and notes about what was odd.

    Tables are attributes too: ``export.ratings``, ``export.choices``, ``export.stimuli`` (and any table
    added to the format later, by its name).
    """

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    file_format: str
    notes: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or table {name!r}")

    @property
    def version(self) -> int:
        return int(self.manifest["format_version"])

    @property
    def simulation(self) -> dict[str, Any] | None:
        return self.manifest.get("simulation")


def read_export(
    path: str | os.PathLike[str],
    *,
    file_format: str = "auto",
    tables: Iterable[str] | None = None,
    require: Iterable[str] = (),
    verify: bool = False,
) -> Export:
    """Read the export directory ``path``.

    ``file_format``: ``"csv"``, ``"parquet"`` or ``"auto"`` (Parquet when every present table has a
    Parquet twin, CSV otherwise; Parquet is faster, CSV is the canonical form). ``tables``: the tables
    to read (default: all). ``require``: tables that must be present. ``verify``: fail on any checksum
    or row-count mismatch with the manifest and compare every table's CSV and Parquet twins.
    """
    root = Path(path)
    if not root.is_dir():
        raise ExportError(f"{root}: not a directory. Pass the directory written by export_responses or simulate.")
    if file_format not in FILE_FORMATS:
        raise ExportError(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}.")
    names = list(TABLES) if tables is None else list(tables)
    for name in [*names, *require]:
        if name not in TABLES:
            raise ExportError(f"there is no table {name!r} in the export format (tables: {', '.join(TABLES)}).")
    manifest = read_manifest(root)
    version = manifest["format_version"]
    notes: list[str] = []
    if file_format == "auto":
        present = [t for t in TABLES.values() if (root / t.csv).exists() or (root / t.parquet).exists()]
        file_format = "parquet" if present and all((root / t.parquet).exists() for t in present) else "csv"
    frames = {}
    for name in names:
        table = TABLES[name]
        file = root / (table.parquet if file_format == "parquet" else table.csv)
        if table.since > version:  # a table this export's version does not have
            frames[name] = empty_table(table, version=version)
            continue
        if not file.exists():
            if name in require:
                raise ExportError(f"{file} is missing: this reader needs the {name} table.")
            frames[name] = empty_table(table, version=version)
            notes.append(f"{file.name} is absent: no {name} in this export.")
            continue
        frames[name] = read_table(file, table, version=version, notes=notes)
        if verify:
            _check_twin(root, table, frames[name], file_format, version)
    _check_against_manifest(root, manifest, frames, file_format, notes, strict=verify)
    return Export(path=root, manifest=manifest, tables=frames, file_format=file_format, notes=notes)


def verify_export(path: str | os.PathLike[str]) -> Export:
    """Read every table strictly (``read_export(verify=True)``): the integrity check of a whole export."""
    return read_export(path, verify=True)


def read_table(file: Path, table: Table, *, version: int, notes: list[str] | None = None) -> pd.DataFrame:
    """One table file (``.csv`` or ``.parquet``) of an export of format ``version``, typed and validated."""
    place = Place.of(file)
    present = codec.csv_header(file) if place.kind == "csv" else _parquet_columns(file)
    expected = table.at_version(version)
    missing = [column.name for column in expected if column.name not in present]
    if missing:
        raise ExportError(
            f"{file}: missing column(s) {', '.join(missing)}. See the {table.name} table in docs/export-format.md."
        )
    known = set(table)
    extra = [name for name in present if name not in known]
    if extra and notes is not None:
        notes.append(f"{file.name}: column(s) {', '.join(extra)} are not in the format and were ignored.")
    readable = [column for column in table.values() if column.name in present]
    arrow = codec.read_csv(file, readable) if place.kind == "csv" else codec.read_parquet(file, readable)
    frame = codec.to_pandas(arrow, readable)
    for column in table.values():  # newer columns an older export lacks read as empty
        if column.name not in frame:
            frame[column.name] = pd.Series([None] * len(frame), dtype=PANDAS_DTYPES[column.type])
    frame = frame[list(table)]
    validate(frame, table, place=place, version=version)
    return frame


def _parquet_columns(file: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(file).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExportError(f"{file}: cannot read Parquet ({exc}).") from exc


def _check_twin(root: Path, table: Table, frame: pd.DataFrame, file_format: str, version: int) -> None:
    other = root / (table.csv if file_format == "parquet" else table.parquet)
    if not other.exists():
        return
    twin = read_table(other, table, version=version)
    read = root / (table.parquet if file_format == "parquet" else table.csv)
    if len(twin) != len(frame):
        raise ExportError(f"{other} has {len(twin)} rows but {read} has {len(frame)}: the twins disagree.")
    difference = first_difference(frame, twin)
    if difference is not None:
        column, positions = difference
        csv_side = frame if file_format == "csv" else twin
        where = Place(str(root / table.csv), "csv").rows(csv_side, positions)
        raise ExportError(
            f"{root / table.csv} and {root / table.parquet} disagree in column {column!r} on {where} "
            f"(Parquet row(s) {[p + 1 for p in positions[:5]]}): the twins must hold the same data."
        )


def _check_against_manifest(
    root: Path,
    manifest: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    file_format: str,
    notes: list[str],
    *,
    strict: bool,
) -> None:
    problems = []
    counts = manifest.get("row_counts") or {}
    for name, frame in frames.items():
        expected = counts.get(name)
        if expected is not None and int(expected) != len(frame):
            problems.append(f"manifest.json says {expected} {name} rows but the file has {len(frame)}.")
    checked = list(manifest.get("files", {}).items())
    if not strict:  # only the files just read
        checked = [(n, e) for n, e in checked if n in {f"{t}.{file_format}" for t in frames}]
    for name, entry in checked:
        file = root / name
        if not file.exists():
            problems.append(f"{MANIFEST_FILE} lists {name}, which is missing.")
        elif sha256_of(file) != entry["sha256"]:
            problems.append(
                f"{name} differs from the file {MANIFEST_FILE} describes (SHA-256 mismatch): "
                "it was changed or truncated after the export was written."
            )
    if strict and problems:
        raise ExportError(f"{root}: " + " ".join(problems))
    notes.extend(problems)
