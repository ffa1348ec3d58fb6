"""Write an export directory: every table as CSV (and Parquet twins), then ``manifest.json``, each atomically.

The writer holds its input to the same schema the reader checks (types, nullability, allowed values, row
rules), so it never writes an export a reader would refuse; a bad row is an :class:`ExportError` naming
the table, column and row, raised before any file is written. Tables the caller does not give are written with zero rows, so an export
always has every table of its format version; a Parquet twin left over from an earlier export into the
same directory is removed when no new one is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from exportformat import codec
from exportformat.errors import ExportError
from exportformat.frames import Place, coerce, validate
from exportformat.manifest import MANIFEST_FILE, build_manifest, file_entry
from exportformat.schema import TABLES, Table
from mvfit_common.files import atomic_write, atomic_write_text

Rows = pd.DataFrame | Iterable[Mapping[str, Any]]


@dataclass(frozen=True)
class WrittenExport:
    directory: Path
    manifest: dict[str, Any]
    files: list[str]  # manifest.json first, then the data files in table order

    @property
    def row_counts(self) -> dict[str, int]:
        return dict(self.manifest["row_counts"])


def prepare_table(rows: Rows, table: Table) -> pd.DataFrame:
    """A writer's rows as the typed table, checked against the schema (an :class:`ExportError` if they break it)."""
    place = Place(f"{table.name} rows", "frame")
    frame = coerce(rows, table, place=place)
    validate(frame, table, place=place)
    return frame


def write_table(frame: pd.DataFrame, table: Table, directory: Path, *, parquet: bool = True) -> list[str]:
    """Write a prepared table's CSV (and Parquet twin) into ``directory``; return the file names."""
    arrow = codec.to_arrow(frame, table)
    with atomic_write(directory / table.csv) as tmp, tmp.open("wb") as handle:
        codec.write_csv(arrow, table, handle)
    if not parquet:
        (directory / table.parquet).unlink(missing_ok=True)  # a stale twin would contradict the new CSV
        return [table.csv]
    with atomic_write(directory / table.parquet) as tmp:
        codec.write_parquet(arrow, tmp)
    return [table.csv, table.parquet]


def write_export(
    directory: str | os.PathLike[str],
    *,
    tables: Mapping[str, Rows],
    provenance: Mapping[str, Any],
    parquet: bool = True,
) -> WrittenExport:
    """Write an export into ``directory`` (created if needed).

    ``tables``: rows by table name (DataFrames or iterables of dicts with the documented columns; a
    nullable column may be left out). ``provenance``: what the manifest says about the export's origin —
    ``source`` and ``experiments`` (required), ``exported_at``, ``pseudonymised``, ``simulation``,
    ``assignments``. ``parquet``: also write the Parquet twins.
    """
    root = Path(directory)
    unknown = [name for name in tables if name not in TABLES]
    if unknown:
        raise ExportError(f"no table(s) {', '.join(unknown)} in the export format (tables: {', '.join(TABLES)}).")
    # Every table is checked before any file is touched: bad input leaves an earlier export intact.
    frames = {name: prepare_table(tables.get(name, ()), table) for name, table in TABLES.items()}
    build_manifest(provenance, row_counts={}, files={})  # the provenance is checked up front too
    root.mkdir(parents=True, exist_ok=True)
    files = [file for name, frame in frames.items() for file in write_table(frame, TABLES[name], root, parquet=parquet)]
    counts = {name: len(frame) for name, frame in frames.items()}
    manifest = build_manifest(provenance, row_counts=counts, files={name: file_entry(root / name) for name in files})
    atomic_write_text(root / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return WrittenExport(directory=root, manifest=manifest, files=[MANIFEST_FILE, *files])
