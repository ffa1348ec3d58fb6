"""Typed tables to and from bytes: the CSV and Parquet encodings of docs/export-format.md.

CSV: UTF-8, comma separated, a header row, ``\\n`` line ends, quotes only where a value needs them
(RFC 4180, like Python's ``csv`` module), ``true``/``false``, empty cells for missing values, floats as
Python writes them (``5.0``, ``30.25``), timestamps as ``2026-11-22T21:03:04.123Z``. Parquet: the same
columns with Arrow types (string, int64, float64, bool, timestamp[ms, tz=UTC]) and nulls for missing values.
Both are rendered with pyarrow from one typed Arrow table, so the twins cannot disagree.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exportformat.errors import ExportError
from exportformat.frames import MAX_REPORTED, PANDAS_DTYPES, Place
from exportformat.schema import Column, Table

ARROW_TYPES = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
TRUE_VALUES = ["true", "True", "TRUE"]
FALSE_VALUES = ["false", "False", "FALSE"]
_CHUNK_ROWS = 100_000


# ------------------------------------------------------------------------------------------------- writing


def to_arrow(frame: pd.DataFrame, table: Table) -> pa.Table:
    """A typed frame (``frames.coerce``) as an Arrow table with the documented types."""
    return pa.table(
        {name: pa.array(frame[name], type=ARROW_TYPES[column.type], from_pandas=True) for name, column in table.items()}
    )


def _quoted(text: pa.Array) -> pa.Array:
    """Quote the values that need it (a comma, a quote or a line break), doubling inner quotes."""
    needs = pc.match_substring_regex(text, r'[,"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def _float_text(values: pa.Array) -> pa.Array:
    """Floats as Python's ``repr`` writes them: ``5.0`` (Arrow alone writes ``5``), ``1e-05``, ``1e+16``."""
    text = pc.cast(values, pa.string())
    integral = pc.match_substring_regex(text, r"^-?\d+$")
    text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    magnitude = pc.abs(values)
    odd = pc.or_(pc.and_(pc.less(magnitude, 1e-4), pc.not_equal(magnitude, 0.0)), pc.greater_equal(magnitude, 1e16))
    if pc.any(odd).as_py():  # outside [1e-4, 1e16) repr switches to exponents; rare, so done one by one
        floats = values.to_numpy(zero_copy_only=False)
        fixed = np.array([repr(float(v)) for v in floats], dtype=object)
        text = pc.if_else(odd.fill_null(False), pa.array(fixed, type=pa.string()), text)
    return text


def _cell_text(values: pa.ChunkedArray | pa.Array, column: Column) -> pa.Array:
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if column.type == "str":
        return _quoted(values)
    if column.type == "float":
        return _float_text(values)
    if column.type == "timestamp":
        # UTC wall time as Arrow prints it ("2026-11-22 21:03:04.123"), made ISO 8601 (T, Z); strftime is 20x slower
        text = pc.cast(pc.cast(values, pa.timestamp("ms")), pa.string())
        return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")
    return pc.cast(values, pa.string())  # int; bool -> true/false


def write_csv(arrow: pa.Table, table: Table, handle: BinaryIO) -> None:
    """Write the CSV encoding of ``arrow`` (typed like ``to_arrow``) to a binary file handle."""
    handle.write((",".join(table) + "\n").encode("utf-8"))
    columns = list(table.values())
    for start in range(0, arrow.num_rows, _CHUNK_ROWS):
        chunk = arrow.slice(start, _CHUNK_ROWS)
        cells = [_cell_text(chunk.column(column.name), column) for column in columns]
        lines = pc.binary_join_element_wise(*cells, ",", null_handling="replace", null_replacement="")
        handle.write(("\n".join(lines.to_pylist()) + "\n").encode("utf-8"))


def write_parquet(arrow: pa.Table, path: Path) -> None:
    pq.write_table(arrow, path)


# ------------------------------------------------------------------------------------------------- reading


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file (its first record)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a spreadsheet may add a BOM
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: not a UTF-8 CSV file ({exc}).") from None
    if not header:
        raise ExportError(f"{path}: the file is empty; a table has at least its header line.")
    return header


def read_csv(path: Path, columns: list[Column]) -> pa.Table:
    """The given columns of a CSV file as a typed Arrow table; a bad cell names its column, value and line."""
    names = [column.name for column in columns]
    convert = pacsv.ConvertOptions(
        column_types={column.name: ARROW_TYPES[column.type] for column in columns},
        include_columns=names,
        true_values=TRUE_VALUES,
        false_values=FALSE_VALUES,
        null_values=[""],
        strings_can_be_null=True,
        timestamp_parsers=["%Y-%m-%dT%H:%M:%S.%fZ", pacsv.ISO8601],
    )
    try:
        return pacsv.read_csv(path, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        text = _read_csv_as_text(path, names, exc)
        _raise_bad_cells(text, columns, Place(str(path), "csv"), exc)
        raise ExportError(f"{path}: cannot parse ({exc}).") from exc


def _read_csv_as_text(path: Path, names: list[str], cause: Exception) -> pa.Table:
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        include_columns=names,
        null_values=[""],
        strings_can_be_null=True,
    )
    try:
        return pacsv.read_csv(path, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # not even text: ragged rows, bad quoting, bad UTF-8
        raise ExportError(f"{path}: not a readable CSV table ({exc}).") from cause


def read_parquet(path: Path, columns: list[Column]) -> pa.Table:
    """The given columns of a Parquet file, cast to the documented types; a bad value names its column and row."""
    try:
        arrow = pq.read_table(path, columns=[column.name for column in columns])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise ExportError(f"{path}: cannot read Parquet ({exc}).") from exc
    place = Place(str(path), "parquet")
    try:
        return pa.table({column.name: arrow.column(column.name).cast(ARROW_TYPES[column.type]) for column in columns})
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        text = pa.table({column.name: _as_text(arrow.column(column.name)) for column in columns})
        _raise_bad_cells(text, columns, place, exc)
        raise ExportError(f"{path}: cannot read the documented types ({exc}).") from exc


def _as_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array([pa.array([None if v is None else repr(v) for v in values.to_pylist()], pa.string())])


def _cast_one(value: str, column: Column) -> None:
    if column.type == "bool":
        if value not in TRUE_VALUES + FALSE_VALUES:
            raise ValueError(value)
        return
    if column.type == "timestamp":
        if not pc.cast(pa.array([value]), ARROW_TYPES["timestamp"]).is_valid():
            raise ValueError(value)
        return
    pc.cast(pa.array([value]), ARROW_TYPES[column.type])


def _raise_bad_cells(text: pa.Table, columns: list[Column], place: Place, cause: Exception) -> None:
    """Find the first column whose text does not parse as its type; raise naming values and lines/rows."""
    for column in columns:
        if column.type == "str":
            continue
        values = text.column(column.name)
        try:
            parsed = values.cast(ARROW_TYPES[column.type]) if column.type != "bool" else None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = None
        if parsed is not None:
            continue
        bad_values = []
        for value in pc.unique(values.drop_null()).to_pylist():
            try:
                _cast_one(value, column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                bad_values.append(value)
        if not bad_values:
            continue
        positions = np.flatnonzero(pc.is_in(values, pa.array(bad_values)).to_numpy(zero_copy_only=False))
        frame = text.to_pandas() if place.kind == "csv" else pd.DataFrame(index=range(text.num_rows))
        raise ExportError(
            f"{place.name}: column {column.name!r} needs {column.type} values; bad value(s) "
            f"{bad_values[:MAX_REPORTED]} on {place.rows(frame, positions.tolist())}."
        ) from cause


def to_pandas(arrow: pa.Table, columns: list[Column]) -> pd.DataFrame:
    """An Arrow table with the documented types as a DataFrame with the documented dtypes."""
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = arrow.to_pandas(types_mapper=mapping.get)
    for column in columns:
        if str(frame[column.name].dtype) != PANDAS_DTYPES[column.type]:
            frame[column.name] = frame[column.name].astype(PANDAS_DTYPES[column.type])
    return frame
