"""Read and write export directories (docs/export-format.md) as typed DataFrames.

The loader is strict about the contract (missing columns or unparsable cells are clear errors that
name the file and column) and lenient about what may legitimately be absent: a study with only
ratings, only choices, or no stimuli table yields empty, correctly typed tables plus a note.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from analysis import schema

_ARROW_TYPES = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
_PANDAS_TYPES = {
    "str": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[ms, UTC]",
}


class ExportError(ValueError):
    """The directory is not a readable mvfit export; the message says what is wrong and where."""


@dataclass
class Export:
    """One loaded export: the manifest plus the three typed tables."""

    path: Path
    manifest: dict[str, Any]
    ratings: pd.DataFrame
    choices: pd.DataFrame
    stimuli: pd.DataFrame
    file_format: str
    notes: list[str] = field(default_factory=list)

    @property
    def simulation(self) -> dict[str, Any] | None:
        return self.manifest.get("simulation")


def empty_table(table: str) -> pd.DataFrame:
    """A zero-row DataFrame with the table's columns and dtypes."""
    columns = schema.TABLES[table]
    return pd.DataFrame({name: pd.Series([], dtype=_PANDAS_TYPES[kind]) for name, kind in columns.items()})


def load_export(path: str | os.PathLike[str], *, file_format: str = "auto") -> Export:
    """Load an export directory.

    ``file_format`` is ``"csv"``, ``"parquet"`` or ``"auto"`` (Parquet when every present table has a
    ``.parquet`` file, CSV otherwise: Parquet is faster and keeps types, CSV is the canonical form).
    """
    root = Path(path)
    if not root.is_dir():
        raise ExportError(f"{root}: not a directory. Pass the directory written by export_responses or simulate.")
    if file_format not in {"auto", "csv", "parquet"}:
        raise ExportError(f"file_format must be auto, csv or parquet, not {file_format!r}")
    manifest = read_manifest(root)
    notes: list[str] = []
    if file_format == "auto":
        present = [t for t in schema.TABLES if (root / f"{t}.csv").exists() or (root / f"{t}.parquet").exists()]
        has_all_parquet = bool(present) and all((root / f"{t}.parquet").exists() for t in present)
        file_format = "parquet" if has_all_parquet else "csv"
    tables = {}
    for table in schema.TABLES:
        file = root / f"{table}.{file_format}"
        if not file.exists():
            tables[table] = empty_table(table)
            if table != "stimuli":
                notes.append(f"{file.name} is absent: no {table} in this export.")
            continue
        frame = _read_parquet(file, table) if file_format == "parquet" else _read_csv(file, table)
        tables[table] = frame
    _check_row_counts(manifest, tables, notes)
    return Export(
        path=root,
        manifest=manifest,
        ratings=tables["ratings"],
        choices=tables["choices"],
        stimuli=tables["stimuli"],
        file_format=file_format,
        notes=notes,
    )


def read_manifest(root: Path) -> dict[str, Any]:
    file = root / "manifest.json"
    if not file.exists():
        raise ExportError(f"{root}: manifest.json is missing, so this is not an mvfit export directory.")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{file}: invalid JSON ({exc.msg} at line {exc.lineno}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != schema.FORMAT_NAME:
        raise ExportError(f"{file}: 'format' must be {schema.FORMAT_NAME!r}.")
    version = manifest.get("format_version")
    if version != schema.FORMAT_VERSION:
        raise ExportError(
            f"{file}: format_version {version!r} is not supported (this analysis reads version {schema.FORMAT_VERSION})."
        )
    return manifest


def _read_csv(file: Path, table: str) -> pd.DataFrame:
    columns = schema.TABLES[table]
    with file.open("rb") as handle:
        header = handle.readline().decode("utf-8").rstrip("\r\n")
    present = [name.strip('"') for name in header.split(",")] if header else []
    _check_columns(file, table, present)
    types = {name: _ARROW_TYPES[columns[name]] for name in columns}
    convert = pacsv.ConvertOptions(
        column_types=types,
        true_values=["true"],
        false_values=["false"],
        null_values=[""],
        strings_can_be_null=True,
        timestamp_parsers=["%Y-%m-%dT%H:%M:%S.%fZ", pacsv.ISO8601],
    )
    try:
        arrow = pacsv.read_csv(file, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ExportError(f"{file}: cannot parse ({exc}). Expected the types listed in docs/export-format.md.") from exc
    return _to_pandas(arrow, table)


def _read_parquet(file: Path, table: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExportError(f"{file}: cannot read Parquet ({exc}).") from exc
    _check_columns(file, table, arrow.column_names)
    columns = schema.TABLES[table]
    try:
        for name, kind in columns.items():
            index = arrow.column_names.index(name)
            arrow = arrow.set_column(index, name, arrow.column(name).cast(_ARROW_TYPES[kind]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ExportError(f"{file}: column {name!r} cannot be read as {kind} ({exc}).") from exc
    return _to_pandas(arrow, table)


def _to_pandas(arrow: pa.Table, table: str) -> pd.DataFrame:
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = arrow.to_pandas(types_mapper=mapping.get)
    for name, kind in schema.TABLES[table].items():
        if str(frame[name].dtype) != _PANDAS_TYPES[kind]:
            frame[name] = frame[name].astype(_PANDAS_TYPES[kind])
    return frame


def _check_columns(file: Path, table: str, present: list[str]) -> None:
    missing = [name for name in schema.TABLES[table] if name not in present]
    if missing:
        raise ExportError(
            f"{file}: missing column(s) {', '.join(missing)}. See the {table} table in docs/export-format.md."
        )


def _check_row_counts(manifest: dict[str, Any], tables: dict[str, pd.DataFrame], notes: list[str]) -> None:
    counts = manifest.get("row_counts") or {}
    for table, frame in tables.items():
        expected = counts.get(table)
        if expected is not None and int(expected) != len(frame):
            notes.append(f"manifest.json says {expected} {table} rows but the file has {len(frame)}.")


# --------------------------------------------------------------------------------------------- writing


def format_timestamps(values: np.ndarray) -> np.ndarray:
    """datetime64 values -> ISO 8601 UTC strings with milliseconds and a Z suffix (NaT -> None)."""
    as_ms = np.asarray(values).astype("datetime64[ms]")
    text = np.char.add(np.datetime_as_string(as_ms, unit="ms"), "Z").astype(object)
    text[np.isnat(as_ms)] = None
    return text


def _to_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    arrays = {}
    for name, kind in schema.TABLES[table].items():
        column = frame[name] if name in frame else pd.Series([None] * len(frame))
        if kind == "timestamp":
            values = pd.to_datetime(column, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
            arrays[name] = pa.array(format_timestamps(values), type=pa.string())
        else:
            arrays[name] = pa.array(column.astype(_PANDAS_TYPES[kind]), type=_ARROW_TYPES[kind], from_pandas=True)
    return pa.table(arrays)


def _atomic_path(target: Path) -> Path:
    """A fresh temporary file next to ``target``; writers fill it and rename it over ``target``."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(descriptor)
    os.chmod(name, 0o644)  # mkstemp makes 0600; exports are shared with analysts
    return Path(name)


def write_table_csv(frame: pd.DataFrame, file: Path, table: str) -> None:
    """Write one table like the platform does: minimal quoting, true/false, empty cells, Z timestamps."""
    import pyarrow.compute as pc

    arrow = _to_arrow(frame, table)
    # Quote only when a value needs it (RFC 4180); pyarrow's own styles quote all strings or none.
    special = any(
        pc.any(pc.match_substring_regex(arrow.column(name), r'[,"\r\n]')).as_py()
        for name, kind in schema.TABLES[table].items()
        if kind == "str" and arrow.num_rows
    )
    temporary = _atomic_path(file)
    try:
        if special:
            # Arrow renders every type as text exactly as write_csv does (true/false, 1.5, ...).
            text = pa.table({name: arrow.column(name).cast(pa.string()) for name in arrow.column_names})
            text.to_pandas().to_csv(temporary, index=False, lineterminator="\n", na_rep="")
        else:
            with temporary.open("wb") as handle:
                handle.write((",".join(schema.TABLES[table]) + "\n").encode("utf-8"))
                pacsv.write_csv(arrow, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        temporary.replace(file)
    finally:
        temporary.unlink(missing_ok=True)


def write_table_parquet(frame: pd.DataFrame, file: Path, table: str) -> None:
    import pyarrow.parquet as pq

    arrays = {}
    for name, kind in schema.TABLES[table].items():
        column = frame[name] if name in frame else pd.Series([None] * len(frame))
        if kind == "timestamp":
            column = pd.to_datetime(column, utc=True)
        elif kind == "str":
            # An empty string is a missing value, exactly as an empty CSV cell reads back.
            column = column.astype("string").replace("", pd.NA)
        arrays[name] = pa.array(column.astype(_PANDAS_TYPES[kind]), type=_ARROW_TYPES[kind], from_pandas=True)
    temporary = _atomic_path(file)
    try:
        pq.write_table(pa.table(arrays), temporary)
        temporary.replace(file)
    finally:
        temporary.unlink(missing_ok=True)


def write_export(
    path: str | os.PathLike[str],
    *,
    manifest: dict[str, Any],
    ratings: pd.DataFrame,
    choices: pd.DataFrame,
    stimuli: pd.DataFrame,
    parquet: bool = False,
) -> Path:
    """Write an export directory (all four files; Parquet copies too when ``parquet``)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    tables = {"ratings": ratings, "choices": choices, "stimuli": stimuli}
    manifest = {**manifest, "row_counts": {name: len(frame) for name, frame in tables.items()}}
    for name, frame in tables.items():
        write_table_csv(frame, root / f"{name}.csv", name)
        if parquet:
            write_table_parquet(frame, root / f"{name}.parquet", name)
    temporary = _atomic_path(root / "manifest.json")
    try:
        temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        temporary.replace(root / "manifest.json")
    finally:
        temporary.unlink(missing_ok=True)
    return root
