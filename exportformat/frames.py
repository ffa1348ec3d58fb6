"""Tables as typed pandas DataFrames: documented dtypes, coercion of writers' input, validation, comparison.

Validation is pandera's (one :class:`pandera.DataFrameSchema` per table and format version, built from
:mod:`exportformat.schema`); its failures become one :class:`ExportError` that names the file, the column
or rule, the bad values and where they are: ``line(s)`` of a CSV file (the header is line 1; a quoted
cell with a line break counts its lines), ``row(s)`` of a Parquet file (1-based) or ``row(s)`` of an
in-memory DataFrame a writer was given (0-based positions).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from exportformat.errors import ExportError
from exportformat.schema import FORMAT_VERSION, TABLES, Column, Table

PANDAS_DTYPES = {
    "str": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[ms, UTC]",
}
MAX_REPORTED = 5  # bad lines named per problem
MAX_PROBLEMS = 10  # problems listed per file


class Place:
    """Where a frame came from, to word error messages: a CSV file, a Parquet file or a writer's input."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind  # "csv", "parquet" or "frame"

    @classmethod
    def of(cls, file: Path) -> Place:
        return cls(str(file), "parquet" if file.suffix == ".parquet" else "csv")

    def rows(self, frame: pd.DataFrame, positions: Sequence[int]) -> str:
        """``line(s) [..]`` or ``row(s) [..]`` for the given 0-based row positions of ``frame``."""
        positions = sorted(set(int(p) for p in positions))
        shown = positions[:MAX_REPORTED]
        more = f" and {len(positions) - len(shown)} more" if len(positions) > len(shown) else ""
        if self.kind == "csv":
            return f"line(s) {csv_lines(frame, shown)}{more}"
        if self.kind == "parquet":
            return f"row(s) {[p + 1 for p in shown]}{more}"
        return f"row(s) {shown}{more}"


def csv_lines(frame: pd.DataFrame, positions: Sequence[int]) -> list[int]:
    """CSV line numbers of rows: the header is line 1, and quoted cells with line breaks add lines."""
    extra = np.zeros(len(frame), dtype=np.int64)
    for name in frame.columns:
        if pd.api.types.is_string_dtype(frame[name].dtype) or frame[name].dtype == object:
            extra += frame[name].astype("str").str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(extra)[:-1]]) if len(frame) else extra
    return [int(2 + p + before[p]) for p in positions]


def empty_table(table: Table | str, *, version: int = FORMAT_VERSION) -> pd.DataFrame:
    """A zero-row DataFrame with the table's columns (of format ``version``) and dtypes."""
    table = TABLES[table] if isinstance(table, str) else table
    return pd.DataFrame(
        {column.name: pd.Series([], dtype=PANDAS_DTYPES[column.type]) for column in table.at_version(version)}
    )


# ------------------------------------------------------------------------------------------------ coercion


def _bad_positions(values: pd.Series, convert) -> list[int]:
    """Positions of the values ``convert`` rejects (each distinct value is tried once)."""
    bad = []
    for value in pd.unique(values.dropna()):
        try:
            convert(value)
        except (TypeError, ValueError, OverflowError):
            bad.append(value)
    return np.flatnonzero(values.isin(bad).to_numpy()).tolist()


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, float | np.floating) and not float(value).is_integer():
        raise ValueError(value)
    return int(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(value)


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _to_timestamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return stamp


_CONVERTERS = {"str": _to_str, "int": _to_int, "float": float, "bool": _to_bool, "timestamp": _to_timestamp}


def _coerce_column(values: pd.Series, column: Column) -> pd.Series:
    kind = column.type
    if kind == "timestamp":
        if not isinstance(values.dtype, pd.DatetimeTZDtype):
            values = pd.to_datetime(values, utc=True, format="ISO8601")
        return values.dt.tz_convert("UTC").dt.floor("ms").astype(PANDAS_DTYPES[kind])
    if kind == "str":
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            raise TypeError("not text")
        text = values.astype("str")
        return text.where(text != "")  # an empty string is a missing value, as an empty CSV cell reads back
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):  # Python values or text
        values = values.astype(object)
        missing = values.map(lambda v: (isinstance(v, str) and v == "") or (not isinstance(v, str) and pd.isna(v)))
        values = values.mask(missing.astype(bool), None)
        if kind == "bool":
            values = values.map(lambda v: None if v is None else _to_bool(v))
        return pd.Series(pd.array(values.tolist(), dtype=PANDAS_DTYPES[kind]))
    return values.astype(PANDAS_DTYPES[kind])


def coerce(rows: pd.DataFrame | Iterable[Mapping[str, Any]], table: Table, *, place: Place) -> pd.DataFrame:
    """A writer's input as the table with its documented dtypes and column order.

    ``rows`` is a DataFrame or an iterable of dicts; columns the table does not have are an error, and
    so is a missing column that is not nullable (a missing nullable column is empty).
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(list(rows))
    unknown = [name for name in frame.columns if name not in table]
    if unknown:
        raise ExportError(f"{place.name}: column(s) {', '.join(map(str, unknown))} are not in the {table.name} table.")
    missing = [name for name, column in table.items() if name not in frame.columns and not column.nullable]
    if missing and len(frame):
        raise ExportError(f"{place.name}: missing column(s) {', '.join(missing)}.")
    out = {}
    for name, column in table.items():
        values = frame[name].reset_index(drop=True) if name in frame.columns else pd.Series([None] * len(frame))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                out[name] = _coerce_column(values, column)
        except (TypeError, ValueError, OverflowError) as exc:
            bad = _bad_positions(values, _CONVERTERS[column.type]) or list(range(len(values)))[:1]
            shown = values.iloc[bad[:MAX_REPORTED]].tolist()
            raise ExportError(
                f"{place.name}: column {name!r} needs {column.type} values; {shown!r} on "
                f"{place.rows(frame, bad)} cannot be read as {column.type} ({exc})."
            ) from exc
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------- validation


@functools.cache
def pandera_schema(table: Table, version: int) -> pa.DataFrameSchema:
    """The pandera schema of ``table`` in format ``version``: dtypes, nullability, allowed values, row rules."""
    columns = {}
    for column in table.at_version(version):
        checks = []
        if column.allowed:
            checks.append(pa.Check.isin(column.allowed))
        if column.minimum is not None and column.maximum is not None:
            checks.append(pa.Check.in_range(column.minimum, column.maximum))
        elif column.minimum is not None:
            checks.append(pa.Check.ge(column.minimum))
        elif column.maximum is not None:
            checks.append(pa.Check.le(column.maximum))
        if column.pattern:
            checks.append(pa.Check.str_matches(column.pattern))
        columns[column.name] = pa.Column(PANDAS_DTYPES[column.type], checks=checks, nullable=column.nullable)
    rules = [pa.Check(rule.holds, name=rule.name) for rule in table.rules if rule.since <= version]
    return pa.DataFrameSchema(
        columns,
        checks=rules,
        unique=list(table.unique) or None,
        report_duplicates="all",
        name=table.name,
    )


def validate(frame: pd.DataFrame, table: Table, *, place: Place, version: int = FORMAT_VERSION) -> None:
    """Raise one :class:`ExportError` listing every rule of ``table`` that ``frame`` breaks, and where."""
    try:
        pandera_schema(table, version).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise ExportError(_describe(exc.failure_cases, frame, table, place)) from None


def _describe(failures: pd.DataFrame, frame: pd.DataFrame, table: Table, place: Place) -> str:
    rules = {rule.name: rule for rule in table.rules}
    problems = []
    for (column, check), cases in failures.groupby(["column", "check"], dropna=False, sort=False):
        positions = cases["index"].dropna().astype(int).unique().tolist()
        where = place.rows(frame, positions) if positions else "the whole column"
        if check in rules:
            rule = rules[check]
            problem = f"rule '{rule.name}' is broken on {where}: {rule.description}"
            if problem not in problems:
                problems.append(problem)
            continue
        if check in ("multiple_fields_uniqueness", "field_uniqueness") or str(check).startswith("unique"):
            problems.append(f"({', '.join(table.unique)}) repeats on {where}")
            continue
        spec = table.columns.get(str(column))
        if check == "not_nullable":
            problems.append(f"column {column!r} is empty on {where}; it must have a value")
            continue
        values = pd.unique(cases["failure_case"].dropna())[:MAX_REPORTED].tolist()
        expected = spec.rule_text().replace("`", "") if spec else str(check)
        problems.append(f"column {column!r} must be {expected}; bad value(s) {values} on {where}")
    shown = problems[:MAX_PROBLEMS]
    more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    listing = "\n".join(f"  - {problem}" for problem in shown)
    return f"{place.name} breaks the {table.name} table of docs/export-format.md:\n{listing}{more}"


# ---------------------------------------------------------------------------------------------- comparison


def first_difference(left: pd.DataFrame, right: pd.DataFrame) -> tuple[str, list[int]] | None:
    """The first column in which two tables of the same shape differ, with the differing row positions."""
    for name in left.columns:
        a, b = left[name], right[name]
        same = (a == b).fillna(False).to_numpy(dtype=bool) | (a.isna().to_numpy() & b.isna().to_numpy())
        if not same.all():
            return name, np.flatnonzero(~same).tolist()
    return None
