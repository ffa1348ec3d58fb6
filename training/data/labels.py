"""Inferred labels: train on one crowd label per comparison, with its confidence, instead of raw answers.

Input: the CSV written by ``python -m analysis truth EXPORT --out labels.csv`` (docs/analysis.md, "Truth
inference"). Training reads these columns and ignores the others:

    experiment_id, direction, query_id   the comparison's experiment, direction and query
    option_a, option_b                   its two options (option_a < option_b: the side they were shown on
                                         does not matter)
    p_a                                  the model's posterior that option_a is the crowd's choice, 0..1

:func:`inferred_items` turns the raw answers of a split part into one item per comparison with a *soft*
label ``P(A chosen)`` (A = the option the first raw answer showed on the left), which the preference
head's binary cross-entropy then targets: ``-[p log s + (1 - p) log(1 - s)]``, i.e. the expected loss
over the inferred label's posterior, so a confident label counts fully and a coin flip pulls towards ½.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.errors import TrainingInputError

LABEL_COLUMNS = ("experiment_id", "direction", "query_id", "option_a", "option_b", "p_a")
KEY = ["experiment_id", "direction", "query_id", "option_a", "option_b"]


def read_inferred_labels(path: str | Path) -> pd.DataFrame:
    """The inferred-label CSV, checked: the columns above, integer ids, ``p_a`` in 0..1, one row per comparison."""
    path = Path(path)
    if not path.is_file():
        raise TrainingInputError(f"--labels {path}: no such file (write it with `python -m analysis truth`).")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TrainingInputError(f"--labels {path}: not a readable CSV ({exc}).") from exc
    missing = [column for column in LABEL_COLUMNS if column not in frame.columns]
    if missing:
        raise TrainingInputError(
            f"--labels {path}: missing column(s) {', '.join(missing)}; expected the output of `python -m analysis truth`."
        )
    frame = frame[list(LABEL_COLUMNS)]
    for column in ("experiment_id", "query_id", "option_a", "option_b"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise TrainingInputError(
                f"--labels {path}, line {line}: column {column} must be an integer id, not {frame[column].iloc[line - 2]!r}."
            )
        frame[column] = values.astype("int64")
    p = pd.to_numeric(frame["p_a"], errors="coerce")
    bad = p.isna() | ~p.between(0, 1)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise TrainingInputError(
            f"--labels {path}, line {line}: p_a must be a probability in 0..1, not {frame['p_a'].iloc[line - 2]!r}."
        )
    frame["p_a"] = p.astype(float)
    frame["direction"] = frame["direction"].astype(str)
    duplicated = frame.duplicated(KEY)
    if duplicated.any():
        line = int(np.flatnonzero(duplicated.to_numpy())[0]) + 2
        raise TrainingInputError(f"--labels {path}, line {line}: a second label for the same comparison.")
    return frame


def inferred_items(items: pd.DataFrame, labels: pd.DataFrame, *, source: str = "--labels") -> pd.DataFrame:
    """One item per distinct comparison of ``items`` (raw preference items) with ``label = P(A chosen)``.

    Comparisons whose inferred label is exactly ½ carry no preference and are left out; a comparison
    of ``items`` without an inferred label is an error (the labels were inferred from another export).
    """
    if items.empty:
        return items.copy()
    keyed = items.assign(
        option_a=np.minimum(items["a_id"], items["b_id"]).astype("int64"),
        option_b=np.maximum(items["a_id"], items["b_id"]).astype("int64"),
        query_id=items["query_id"].astype("int64"),
        experiment_id=items["experiment_id"].astype("int64"),
    )
    first = keyed.drop_duplicates(KEY).reset_index(drop=True)
    merged = first.merge(labels[[*KEY, "p_a"]], on=KEY, how="left", validate="one_to_one")
    unlabelled = merged["p_a"].isna()
    if unlabelled.any():
        sample = merged.loc[unlabelled, KEY].iloc[0].to_dict()
        raise TrainingInputError(
            f"{source}: {int(unlabelled.sum())} comparison(s) of the export have no inferred label (e.g. {sample}); "
            "infer the labels from the same export."
        )
    a_is_option_a = merged["a_id"].astype("int64") == merged["option_a"]
    merged["label"] = np.where(a_is_option_a, merged["p_a"], 1 - merged["p_a"])
    merged["worker_id"] = "inferred"
    merged = merged.loc[merged["label"] != 0.5]
    return merged[list(items.columns)].reset_index(drop=True)
