"""Read the ``choices`` and ``stimuli`` tables of an export directory (docs/export-format.md).

Only the documented columns are used. Everything is validated here, at the edge, so that the
rest of ``training/`` can trust the frames it gets; problems are reported as one
:class:`TrainingInputError` that lists what is wrong and where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import schema
from training.errors import TrainingInputError

# The documented columns (analysis.schema) that training reads; the others are ignored.
CHOICE_COLUMNS = (
    "worker_id",
    "assignment_id",
    "experiment_id",
    "trial_index",
    "direction",
    "condition",
    "query_id",
    "query_source_id",
    "left_id",
    "left_source_id",
    "right_id",
    "right_source_id",
    "chosen_side",
    "chosen_id",
    "is_catch",
)
STIMULUS_COLUMNS = ("item_kind", "item_id", "source_id", "label", "ground_truth_id", "file")
# V2M: the query is a clip and the options are excerpts; M2V the other way round.
QUERY_KIND = {"V2M": "clip", "M2V": "excerpt"}
OPTION_KIND = {"V2M": "excerpt", "M2V": "clip"}


@dataclass(frozen=True)
class Export:
    """The validated tables of one export directory."""

    directory: Path
    choices: pd.DataFrame  # catch trials removed
    stimuli: pd.DataFrame  # indexed by (item_kind, item_id)
    manifest: dict
    dropped_catch_trials: int

    def media_path(self, item_kind: str, item_id: int, *, media_root: Path | None = None) -> Path:
        """Local path of a stimulus' prepared file (relative keys resolve against ``media_root``)."""
        try:
            file = self.stimuli.loc[(item_kind, int(item_id)), "file"]
        except KeyError:
            raise TrainingInputError(
                f"{item_kind} {item_id} is not listed in {self.directory / 'stimuli.csv'}"
            ) from None
        path = Path(file)
        if not path.is_absolute():
            if media_root is None:
                raise TrainingInputError(
                    f"stimuli.csv gives a storage key ({file!r}) rather than a local path for {item_kind} "
                    f"{item_id}: download the media and pass --media-root DIR so that DIR/{file} exists."
                )
            path = media_root / path
        return path


def read_export(directory: str | Path) -> Export:
    """Load and validate ``choices.csv`` and ``stimuli.csv`` (catch trials are dropped)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TrainingInputError(
            f"Export directory {directory} does not exist (expected the output of export_responses)."
        )
    manifest = _read_manifest(directory)
    stimuli = _read_stimuli(directory / "stimuli.csv")
    choices = _read_choices(directory / "choices.csv")
    catch = choices["is_catch"]
    choices = choices.loc[~catch].reset_index(drop=True)
    _check_references(choices, stimuli, directory)
    return Export(
        directory=directory,
        choices=choices,
        stimuli=stimuli,
        manifest=manifest,
        dropped_catch_trials=int(catch.sum()),
    )


def _read_manifest(directory: Path) -> dict:
    path = directory / "manifest.json"
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TrainingInputError(f"{path} is not valid JSON: {exc}") from None
    if manifest.get("format") not in (None, schema.FORMAT_NAME):
        raise TrainingInputError(f"{path} says format={manifest.get('format')!r}; expected {schema.FORMAT_NAME!r}.")
    return manifest


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise TrainingInputError(f"{path} is missing: an export directory has choices.csv and stimuli.csv.")
    try:
        # Everything as text first: the conversions below give precise messages on bad cells.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TrainingInputError(f"{path} could not be parsed as CSV: {exc}") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise TrainingInputError(f"{path} lacks the column(s) {', '.join(missing)} (see docs/export-format.md).")
    return frame[list(required)].copy()


def _to_int(frame: pd.DataFrame, column: str, path: Path, *, allow_empty: bool = False) -> pd.Series:
    text = frame[column].str.strip()
    empty = text == ""
    values = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = values.isna() & ~empty
    if not allow_empty:
        bad |= empty
    bad |= values.notna() & (values != values.round())
    if bad.any():
        rows = (bad[bad].index[:5] + 2).tolist()  # +2: header line and 1-based numbering
        raise TrainingInputError(f"{path}: column {column!r} needs integers; bad value(s) on line(s) {rows}.")
    return values.astype("Int64")


def _to_bool(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    text = frame[column].str.strip().str.lower()
    bad = ~text.isin(["true", "false"])
    if bad.any():
        rows = (bad[bad].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: column {column!r} must be true/false; bad value(s) on line(s) {rows}.")
    return text == "true"


def _check_allowed(series: pd.Series, allowed: tuple[str, ...], column: str, path: Path) -> None:
    bad = ~series.isin(allowed)
    if bad.any():
        rows = (bad[bad].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: column {column!r} must be one of {allowed}; bad value(s) on line(s) {rows}.")


def _read_stimuli(path: Path) -> pd.DataFrame:
    frame = _read_csv(path, STIMULUS_COLUMNS)
    _check_allowed(frame["item_kind"], ("clip", "excerpt"), "item_kind", path)
    frame["item_id"] = _to_int(frame, "item_id", path)
    frame["source_id"] = _to_int(frame, "source_id", path)
    frame["ground_truth_id"] = _to_int(frame, "ground_truth_id", path, allow_empty=True)
    no_file = frame["file"].str.strip() == ""
    if no_file.any():
        rows = (no_file[no_file].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: column 'file' is empty on line(s) {rows}; training needs the media files.")
    duplicated = frame.duplicated(["item_kind", "item_id"])
    if duplicated.any():
        rows = (duplicated[duplicated].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: the same (item_kind, item_id) is listed twice, line(s) {rows}.")
    return frame.set_index(["item_kind", "item_id"]).sort_index()


def _read_choices(path: Path) -> pd.DataFrame:
    frame = _read_csv(path, CHOICE_COLUMNS)
    frame["is_catch"] = _to_bool(frame, "is_catch", path)
    _check_allowed(frame["direction"], schema.DIRECTIONS, "direction", path)
    _check_allowed(frame["chosen_side"], ("left", "right"), "chosen_side", path)
    for column in ("assignment_id", "experiment_id", "trial_index"):
        frame[column] = _to_int(frame, column, path)
    # Catch trials may show special attention-check media with no ids; only real trials need them.
    real = ~frame["is_catch"]
    for column in ("query_id", "query_source_id", "left_id", "left_source_id", "right_id", "right_source_id"):
        frame[column] = _to_int(frame, column, path, allow_empty=True)
        empty = frame[column].isna() & real
        if empty.any():
            rows = (empty[empty].index[:5] + 2).tolist()
            raise TrainingInputError(f"{path}: column {column!r} is empty on non-catch line(s) {rows}.")
    frame["chosen_id"] = _to_int(frame, "chosen_id", path, allow_empty=True)
    chosen = frame["left_id"].where(frame["chosen_side"] == "left", frame["right_id"])
    inconsistent = real & (frame["chosen_id"] != chosen).fillna(True)
    if inconsistent.any():
        rows = (inconsistent[inconsistent].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: chosen_id does not match chosen_side on line(s) {rows}.")
    same = real & (frame["left_id"] == frame["right_id"]).fillna(False)
    if same.any():
        rows = (same[same].index[:5] + 2).tolist()
        raise TrainingInputError(f"{path}: left and right options are the same item on line(s) {rows}.")
    return frame


def _check_references(choices: pd.DataFrame, stimuli: pd.DataFrame, directory: Path) -> None:
    known = set(stimuli.index)
    missing: set[tuple[str, int]] = set()
    for direction in schema.DIRECTIONS:
        rows = choices[choices["direction"] == direction]
        for column, kind in (
            ("query_id", QUERY_KIND[direction]),
            ("left_id", OPTION_KIND[direction]),
            ("right_id", OPTION_KIND[direction]),
        ):
            missing |= {(kind, int(i)) for i in rows[column].unique()} - known
    if missing:
        sample = ", ".join(f"{kind} {item_id}" for kind, item_id in sorted(missing)[:5])
        raise TrainingInputError(
            f"{directory / 'choices.csv'} refers to {len(missing)} item(s) missing from stimuli.csv (e.g. {sample})."
        )
