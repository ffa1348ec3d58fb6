"""Input validation for the public analysis functions, with rules taken from the export format.

Every public function of ``analysis/`` that takes a ratings or choices DataFrame checks the columns
it uses before computing anything (pandera runs the checks). The rules come from
:mod:`exportformat.schema` — the one definition of each column — so a rating must be a whole number
in 1..7 here exactly as in an export file:

* a missing column is named, with the function that needs it;
* a value of the wrong type is refused (a rating ``"5"`` is text, not a number: nothing is converted
  silently; ``3.5`` is not a whole number);
* a value outside the column's range or allowed values is refused (ratings of 0 or 8);
* an empty cell in a column the format does not allow to be empty is refused;
* duplicated answers — the same worker answering the same item twice, :data:`DUPLICATE_KEYS`, the
  key the ``duplicate`` exclusion rule also uses — are refused (``duplicates="refuse"``, the
  default) or removed explicitly (``duplicates="drop"``, first answer kept, by row order).

The error (:class:`AnalysisInputError`, a ``ValueError``) names the function, the column, the rule,
up to five bad values and the row labels where they are. What is *not* checked: the pseudonym
pattern of ``worker_id`` (a privacy rule of the platform's exports, not a statistical need) and the
export's multi-column row rules (the export reader checks those on load).

``clean()`` gets ``ranges=False``: out-of-range answers are its business (rule ``invalid``, counted
in the log), but text in a numeric column still stops it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from exportformat import schema
from exportformat.schema import Column

# The same worker answering the same item twice (rule ``duplicate`` of analysis.cleaning uses these).
DUPLICATE_KEYS: dict[str, tuple[str, ...]] = {
    "ratings": ("worker_id", "pairing_id"),
    "choices": ("worker_id", "direction", "query_id", "left_id", "right_id"),
    "montage_choices": ("worker_id", "left_montage_id", "right_montage_id"),
    "montage_ratings": ("worker_id", "montage_id"),
}
DUPLICATE_POLICIES = ("refuse", "drop")
MAX_SHOWN = 5

# Columns that analysis functions derive and take back as input (not export columns).
DERIVED: dict[str, Column] = {
    "first": Column("first", "bool", "preference trial: the first-named option was chosen"),
    "z": Column("z", "float", "rating z-scored within worker", nullable=True),
}


class AnalysisInputError(ValueError):
    """A DataFrame given to an analysis function breaks the export format's rules for a column it uses."""


def _spec(table: str, name: str) -> Column:
    columns = schema.TABLES[table].columns
    if name in columns:
        return columns[name]
    if name in DERIVED:
        return DERIVED[name]
    # Any other numeric column a caller names as the value to analyse (e.g. a transformed rating).
    return Column(name, "float", "numeric value to analyse", nullable=True)


def _is_number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return pd.Series(True, index=values.index)
    return values.map(lambda v: isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool))


def _is_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(True, index=values.index)
    return values.map(lambda v: isinstance(v, bool | np.bool_))


def _checks(column: Column, *, ranges: bool) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if column.type in ("int", "float"):
        checks.append(pa.Check(_is_number, name="a number (text is not converted; use pd.to_numeric first)"))

        def numeric(values: pd.Series) -> pd.Series:
            return pd.to_numeric(values.where(_is_number(values)), errors="coerce")

        if column.type == "int":
            checks.append(pa.Check(lambda v: (numeric(v) % 1 == 0) | ~_is_number(v), name="a whole number"))
        else:
            checks.append(pa.Check(lambda v: np.isfinite(numeric(v)) | ~_is_number(v), name="finite"))
        if ranges and (column.minimum is not None or column.maximum is not None):
            low = -np.inf if column.minimum is None else column.minimum
            high = np.inf if column.maximum is None else column.maximum
            checks.append(
                pa.Check(lambda v: numeric(v).between(low, high) | ~_is_number(v), name=column.rule_text() or "range")
            )
    elif column.type == "bool":
        checks.append(pa.Check(_is_bool, name="true or false"))
    elif column.allowed and ranges:
        checks.append(pa.Check(lambda v: v.isin(column.allowed), name="one of " + column.rule_text()))
    return checks


def validate_frame(
    frame: pd.DataFrame,
    *,
    table: str,
    columns: Sequence[str],
    function: str,
    ranges: bool = True,
    duplicates: str | None = "refuse",
) -> pd.DataFrame:
    """Check the ``columns`` of ``frame`` that ``function`` uses against the ``table`` of the export format.

    ``ranges=False`` checks types only (no ranges, allowed values or empty cells): for ``clean()``,
    whose ``invalid`` rule removes and counts such rows.

    Returns ``frame`` itself, or a copy without duplicated answers when ``duplicates="drop"``.
    ``duplicates=None`` skips the duplicate check (for frames that are not one answer per row).
    """
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisInputError(f"{function}: expected a pandas DataFrame of {table}, got {type(frame).__name__}")
    if duplicates is not None and duplicates not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {', '.join(DUPLICATE_POLICIES)} or None, not {duplicates!r}")
    wanted = list(dict.fromkeys(columns))
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise AnalysisInputError(
            f"{function}: missing column(s) {', '.join(repr(m) for m in missing)} in the {table} table "
            f"(docs/export-format.md); it has {', '.join(map(str, frame.columns[:12]))}"
            + (" …" if len(frame.columns) > 12 else "")
        )
    specs = {name: _spec(table, name) for name in wanted}
    validator = pa.DataFrameSchema(
        {
            name: pa.Column(
                None, checks=_checks(spec, ranges=ranges), nullable=spec.nullable or not ranges, required=True
            )
            for name, spec in specs.items()
        },
        name=f"{function} input",
    )
    try:
        validator.validate(frame[wanted], lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise AnalysisInputError(_describe(exc.failure_cases, function, table)) from None
    if duplicates is None:
        return frame
    return _duplicates(frame, table=table, function=function, policy=duplicates)


def _describe(failures: pd.DataFrame, function: str, table: str) -> str:
    problems = []
    for (column, check), cases in failures.groupby(["column", "check"], dropna=False, sort=False):
        labels = cases["index"].dropna().unique().tolist()
        where = ", ".join(map(str, labels[:MAX_SHOWN])) + (
            f" … ({len(labels)} rows)" if len(labels) > MAX_SHOWN else ""
        )
        if check == "not_nullable":
            problems.append(f"column {column!r} is empty in row(s) {where}; the {table} table requires a value")
            continue
        values = pd.unique(cases["failure_case"].astype(object)).tolist()[:MAX_SHOWN]
        problems.append(f"column {column!r} must be {check}; bad value(s) {values!r} in row(s) {where}")
    return f"{function}: invalid {table} input:\n" + "\n".join(f"  - {problem}" for problem in problems)


def _duplicates(frame: pd.DataFrame, *, table: str, function: str, policy: str) -> pd.DataFrame:
    key = list(DUPLICATE_KEYS[table])
    if any(name not in frame.columns for name in key):
        return frame  # without the answer key, two rows cannot be told to be the same answer
    if "is_catch" in frame.columns:
        is_catch = frame["is_catch"].fillna(False).to_numpy(dtype=bool)
    else:
        is_catch = np.zeros(len(frame), dtype=bool)
    repeated = frame.duplicated(subset=key, keep="first").to_numpy() & ~is_catch & frame[key].notna().all(axis=1)
    if not repeated.any():
        return frame
    if policy == "drop":
        return frame.loc[~repeated]
    labels = frame.index[repeated].tolist()
    raise AnalysisInputError(
        f"{function}: {int(repeated.sum())} duplicated {table} row(s) (the same {', '.join(key)} again) in row(s) "
        f"{', '.join(map(str, labels[:MAX_SHOWN]))}{' …' if len(labels) > MAX_SHOWN else ''}; "
        "run analysis.cleaning.clean() first, or pass duplicates='drop' to keep each first answer"
    )
