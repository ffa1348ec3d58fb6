"""Read the ``choices`` and ``stimuli`` tables of an export directory (docs/export-format.md).

The format itself — columns, types, allowed values, row rules — is read and validated by
``exportformat``; this module adds what training needs on top (every stimulus has a media file, every
item a choice refers to is listed in ``stimuli``), so that the rest of ``training/`` can trust the
frames it gets. Problems are reported as one :class:`TrainingInputError` that says what is wrong and where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import exportformat
from exportformat import schema
from training.errors import TrainingInputError

# The documented columns (exportformat.schema) that training reads; the others are ignored.
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
    """Load and validate ``choices`` and ``stimuli`` (catch trials are dropped)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TrainingInputError(
            f"Export directory {directory} does not exist (expected the output of export_responses)."
        )
    try:
        export = exportformat.read_export(directory, tables=("choices", "stimuli"), require=("choices", "stimuli"))
    except exportformat.ExportError as exc:
        raise TrainingInputError(str(exc)) from exc
    stimuli = export.stimuli[list(STIMULUS_COLUMNS)]
    _check_media_files(stimuli, directory)
    stimuli = stimuli.set_index(["item_kind", "item_id"]).sort_index()
    choices = export.choices[list(CHOICE_COLUMNS)]
    catch = choices["is_catch"].astype(bool)
    choices = choices.loc[~catch].reset_index(drop=True)
    _check_references(choices, stimuli, directory)
    return Export(
        directory=directory,
        choices=choices,
        stimuli=stimuli,
        manifest=export.manifest,
        dropped_catch_trials=int(catch.sum()),
    )


def _check_media_files(stimuli: pd.DataFrame, directory: Path) -> None:
    no_file = stimuli[stimuli["file"].isna()]
    if len(no_file):
        sample = ", ".join(f"{kind} {item_id}" for kind, item_id in no_file[["item_kind", "item_id"]].head(5).values)
        raise TrainingInputError(
            f"{directory / 'stimuli.csv'}: column 'file' is empty for {len(no_file)} item(s) (e.g. {sample}); "
            "training needs the media files: render them before exporting."
        )


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
