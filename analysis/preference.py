"""The VM-NET human preference test (Hong et al., Table IV and Fig. 7), with the statistics it left out.

Each preference trial pairs two options of different kinds: G (ground truth), R (random), S (search
result). ``condition`` names the pair with the "first" kind first (GR, GS, SR) and
``first_preferred`` says whether that option was chosen. Table IV reports the share of answers
preferring the first option per condition and direction (V2M, M2V, total); here each share also
gets a Wilson 95 % interval and an exact two-sided binomial test against 50 %.

The binomial test treats answers as independent. Answers from one subject are not, so a
subject-level test (one-sample t-test of per-subject shares against 50 %, and the Wilcoxon
signed-rank test) is reported next to it; that is the one to trust when subjects differ.

The "machine" row: given embedding distances between clips and excerpts, the machine prefers the
option closer to the query, evaluated once per distinct question (docs/analysis.md, machine file).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from exportformat import schema
from mvfit_common.stats import wilson_interval

DIRECTION_ORDER = ("V2M", "M2V", "total")


def binomial_p_value(successes: int, trials: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test (scipy's minlike method)."""
    if trials == 0:
        return float("nan")
    return float(stats.binomtest(int(successes), int(trials), p).pvalue)


def preference_trials(choices: pd.DataFrame) -> pd.DataFrame:
    """Non-catch preference trials (condition GR/GS/SR) with a boolean ``first`` column."""
    mask = choices["condition"].isin(schema.CONDITIONS) & ~choices["is_catch"].fillna(False).astype(bool)
    trials = choices.loc[mask & choices["first_preferred"].notna()].copy()
    trials["first"] = trials["first_preferred"].astype(bool)
    return trials


def _with_total(trials: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([trials, trials.assign(direction="total")], ignore_index=True)


def share_table(trials: pd.DataFrame, *, subject: str = "Human", outcome: str = "first") -> pd.DataFrame:
    """Long table: subject, condition, direction, n, k, share, ci_low, ci_high, p_binomial."""
    rows = []
    both = _with_total(trials)
    for condition in schema.CONDITIONS:
        for direction in DIRECTION_ORDER:
            cell = both.loc[(both["condition"] == condition) & (both["direction"] == direction), outcome]
            n, k = len(cell), int(cell.sum())
            low, high = wilson_interval(k, n)
            rows.append(
                {
                    "subject": subject,
                    "condition": condition,
                    "direction": direction,
                    "n": n,
                    "k": k,
                    "share": k / n if n else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "p_binomial": binomial_p_value(k, n),
                }
            )
    return pd.DataFrame(rows)


def table_iv(shares: pd.DataFrame) -> pd.DataFrame:
    """Wide layout of Table IV: rows (subject, condition), columns V2M / M2V / total, cells 'xx.xx [lo, hi]'."""

    def cell(row: pd.Series) -> str:
        if row["n"] == 0:
            return "-"
        return f"{100 * row['share']:.2f} [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}] (n={row['n']})"

    wide = shares.assign(text=shares.apply(cell, axis=1)).pivot_table(
        index=["subject", "condition"], columns="direction", values="text", aggfunc="first", sort=False
    )
    return wide.reindex(columns=[d for d in DIRECTION_ORDER if d in wide.columns])


def subject_shares(trials: pd.DataFrame) -> pd.DataFrame:
    """Per subject (worker), condition and direction (incl. total): n answers and share preferring first."""
    both = _with_total(trials)
    grouped = both.groupby(["worker_id", "condition", "direction"], observed=True)["first"]
    return grouped.agg(n="size", share="mean").reset_index()


def subject_tests(per_subject: pd.DataFrame) -> pd.DataFrame:
    """Subject-level tests of the mean per-subject share against 50 %."""
    rows = []
    for condition in schema.CONDITIONS:
        for direction in DIRECTION_ORDER:
            shares = per_subject.loc[
                (per_subject["condition"] == condition) & (per_subject["direction"] == direction), "share"
            ].to_numpy(dtype=float)
            row = {"condition": condition, "direction": direction, "subjects": len(shares)}
            if len(shares) >= 2:
                with warnings.catch_warnings():
                    # identical shares (e.g. every subject at 100 %) make scipy warn; t is then inf or NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    t = stats.ttest_1samp(shares, 0.5)
                    ci = t.confidence_interval(0.95)
                centred = shares[shares != 0.5] - 0.5
                # Shares come in steps of 1/questions, so ties are the rule; scipy's "auto" then runs a
                # slow permutation test. Exact for <= 12 untied subjects, else tie-corrected normal approx.
                untied = len(np.unique(np.abs(centred))) == len(centred)
                method = "exact" if untied and len(centred) <= 12 else "asymptotic"
                wilcoxon_p = float(stats.wilcoxon(centred, method=method).pvalue) if len(centred) else np.nan
                row.update(
                    mean_share=float(shares.mean()),
                    median_share=float(np.median(shares)),
                    ci_low=float(ci.low),
                    ci_high=float(ci.high),
                    t=float(t.statistic),
                    p_t=float(t.pvalue),
                    p_wilcoxon=wilcoxon_p,
                )
            rows.append(row)
    columns = ["condition", "direction", "subjects", "mean_share", "median_share", "ci_low", "ci_high", "t", "p_t"]
    return pd.DataFrame(rows).reindex(columns=[*columns, "p_wilcoxon"])


# ---------------------------------------------------------------------------------------- machine row

MACHINE_COLUMNS = ("clip_id", "excerpt_id", "distance")


def load_machine_distances(path: str | Path) -> pd.DataFrame:
    """Read a machine distance file: CSV with clip_id, excerpt_id, distance and optionally model."""
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{file}: machine distance file not found")
    frame = pd.read_csv(file)
    missing = [c for c in MACHINE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{file}: missing column(s) {', '.join(missing)}; expected clip_id,excerpt_id,distance[,model]"
        )
    if "model" not in frame.columns:
        frame["model"] = "Machine"
    frame["model"] = frame["model"].fillna("Machine").astype(str)
    try:
        frame["clip_id"] = frame["clip_id"].astype("int64")
        frame["excerpt_id"] = frame["excerpt_id"].astype("int64")
        frame["distance"] = frame["distance"].astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{file}: clip_id/excerpt_id must be integers and distance a number ({exc})") from exc
    if frame["distance"].isna().any():
        raise ValueError(f"{file}: {int(frame['distance'].isna().sum())} row(s) without a distance")
    duplicated = frame.duplicated(["model", "clip_id", "excerpt_id"])
    if duplicated.any():
        raise ValueError(f"{file}: {int(duplicated.sum())} duplicate (model, clip_id, excerpt_id) row(s)")
    return frame[["model", "clip_id", "excerpt_id", "distance"]]


def machine_choices(trials: pd.DataFrame, distances: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per model and distinct question: did the machine prefer the first option?

    The first option is the one whose kind is the first letter of ``condition``. Questions with a
    missing distance or a tie are left out and counted in the returned notes.
    """
    notes: list[str] = []
    questions = trials.drop_duplicates(["direction", "condition", "query_id", "left_id", "right_id"]).copy()
    left_first = questions["left_kind"].astype(str) == questions["condition"].str[0]
    questions["first_id"] = np.where(left_first, questions["left_id"], questions["right_id"])
    questions["second_id"] = np.where(left_first, questions["right_id"], questions["left_id"])
    v2m = questions["direction"] == "V2M"
    out = []
    for model, table in distances.groupby("model", sort=True):
        lookup = table.set_index(["clip_id", "excerpt_id"])["distance"]

        def distance(option: str, lookup: pd.Series = lookup) -> np.ndarray:
            clip = np.where(v2m, questions["query_id"], questions[option]).astype("int64")
            excerpt = np.where(v2m, questions[option], questions["query_id"]).astype("int64")
            return lookup.reindex(pd.MultiIndex.from_arrays([clip, excerpt])).to_numpy()

        first, second = distance("first_id"), distance("second_id")
        missing = np.isnan(first) | np.isnan(second)
        tie = ~missing & (first == second)
        if missing.any():
            notes.append(f"{model}: {int(missing.sum())} question(s) without distances for both options were skipped.")
        if tie.any():
            notes.append(f"{model}: {int(tie.sum())} tied question(s) were skipped.")
        keep = ~(missing | tie)
        out.append(
            questions.loc[keep, ["direction", "condition", "query_id", "first_id", "second_id"]].assign(
                model=model, first=(first < second)[keep]
            )
        )
    result = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return result, notes


def machine_share_table(trials: pd.DataFrame, distances: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    machine, notes = machine_choices(trials, distances)
    tables = [share_table(frame, subject=str(model)) for model, frame in machine.groupby("model", sort=True)]
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), notes
