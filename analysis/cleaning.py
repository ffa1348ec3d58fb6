"""Explicit, configurable exclusion rules; every rule reports what it flagged and removed.

Rules run in a fixed order on each table (ratings, choices; the montage study's ``montage_ratings`` and
``montage_choices`` through :func:`clean_montages`) separately, because a worker's care in
one task says little about another experiment they took part in:

1. ``invalid``       trial  rows that break the contract (rating outside 1..7, unknown side, no worker)
2. ``duplicate``     trial  a worker answering the same pairing / question twice: the first answer counts
3. ``catch_unlikely`` worker failed more attention checks than an attentive worker plausibly would:
                       P(X >= failures), X ~ Binomial(checks, ``catch_lapse_rate``), below
                       ``catch_alpha`` (scales with the number of checks: one slip in 2 checks is
                       kept, 2 of 2 or 4 of 10 are not, at the defaults 10 % and 0.05)
3b. ``catch_failure`` worker failed share of attention checks above ``max_catch_fail_rate`` (the old
                       fixed-rate rule; off by default: with 2 checks one slip is already 50 %)
4. ``fast_responder`` worker share of answers faster than ``min_rt_ms`` above ``max_fast_share``
5. ``straight_lining`` worker one answer (ratings) or one side (choices) in at least
                       ``straightline_max_share`` of at least ``straightline_min_trials`` trials
6. ``low_agreement`` worker correlation with the leave-one-out item mean below ``min_loo_correlation``
                       (ratings only; off by default because it uses the consensus it then protects)
7. ``implausible_rt`` trial  reaction time below ``min_rt_ms`` or above ``max_rt_ms``
8. ``catch_trials``  trial  attention checks themselves, dropped after rules 3 and 4 have used them

Worker-level rules are evaluated independently on the valid, de-duplicated rows, so
``workers_flagged`` tells how many workers each rule alone would catch; ``rows_removed`` is
incremental in the order above, so the counts add up to the rows removed in total.

For the attention-check rules the log also gives ``attentive_dropped``: how many *attentive*
workers the rule is expected to drop in this study, i.e. the sum over the judged workers of the
probability that a worker who lapses at ``catch_lapse_rate`` on each check (independently) is
flagged, given their own number of checks (:func:`attentive_drop_probability`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.validation import DUPLICATE_KEYS, validate_frame
from exportformat import schema


@dataclass(frozen=True)
class ExclusionRules:
    """Thresholds of the exclusion rules; ``None`` switches a rule off."""

    catch_alpha: float | None = 0.05
    catch_lapse_rate: float = 0.1
    max_catch_fail_rate: float | None = None
    min_catch_trials: int = 2
    min_rt_ms: int | None = 300
    max_rt_ms: int | None = 600_000
    max_fast_share: float | None = 0.5
    straightline_max_share: float | None = 0.9
    straightline_min_trials: int = 10
    min_loo_correlation: float | None = None
    loo_min_items: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.catch_lapse_rate < 1:
            raise ValueError(f"catch_lapse_rate must lie strictly between 0 and 1, not {self.catch_lapse_rate}")
        if self.catch_alpha is not None and not 0 < self.catch_alpha < 1:
            raise ValueError(f"catch_alpha must lie strictly between 0 and 1, not {self.catch_alpha}")
        for name in ("max_catch_fail_rate", "max_fast_share", "straightline_max_share"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, not {value}")
        if self.min_rt_ms is not None and self.max_rt_ms is not None and self.min_rt_ms >= self.max_rt_ms:
            raise ValueError(f"min_rt_ms ({self.min_rt_ms}) must be below max_rt_ms ({self.max_rt_ms})")
        if self.min_loo_correlation is not None and not -1 <= self.min_loo_correlation <= 1:
            raise ValueError("min_loo_correlation must lie in [-1, 1]")

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass
class CleanResult:
    """Cleaned tables (catch trials removed) and the exclusion log."""

    ratings: pd.DataFrame
    choices: pd.DataFrame
    exclusions: pd.DataFrame
    worker_flags: pd.DataFrame
    rules: ExclusionRules
    notes: list[str] = field(default_factory=list)


_LOG_COLUMNS = [
    "table",
    "rule",
    "level",
    "criterion",
    "workers_flagged",
    "rows_removed",
    "rows_remaining",
    "attentive_dropped",
]


def catch_flags(failures: np.ndarray, checks: np.ndarray, rules: ExclusionRules) -> dict[str, np.ndarray]:
    """Per attention-check rule that is on: which workers (``failures`` of ``checks``) it flags."""
    failures = np.asarray(failures, dtype=float)
    checks = np.asarray(checks, dtype=float)
    judged = checks >= rules.min_catch_trials
    flags = {}
    if rules.catch_alpha is not None:
        # P(X >= failures) for X ~ Binomial(checks, lapse): sf(failures - 1)
        tail = stats.binom.sf(failures - 1, checks, rules.catch_lapse_rate)
        flags["catch_unlikely"] = judged & (failures > 0) & (tail < rules.catch_alpha)
    if rules.max_catch_fail_rate is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            flags["catch_failure"] = judged & (failures / checks > rules.max_catch_fail_rate)
    return flags


def attentive_drop_probability(checks: np.ndarray, rules: ExclusionRules, lapse_rate: float | None = None) -> dict:
    """Per attention-check rule that is on: the probability that an attentive worker with ``checks``
    checks is flagged, when they fail each check independently with ``lapse_rate`` (default: the
    rules' ``catch_lapse_rate``). Exact (sums binomial probabilities), element-wise over ``checks``."""
    lapse = rules.catch_lapse_rate if lapse_rate is None else lapse_rate
    checks = np.atleast_1d(np.asarray(checks, dtype=int))
    top = int(checks.max()) if len(checks) else 0
    failures = np.arange(top + 1)[None, :]
    n = checks[:, None]
    possible = failures <= n
    pmf = np.where(possible, stats.binom.pmf(failures, n, lapse), 0.0)
    out = {}
    for rule, flagged in catch_flags(
        np.broadcast_to(failures, pmf.shape), np.broadcast_to(n, pmf.shape), rules
    ).items():
        out[rule] = (pmf * (flagged & possible)).sum(axis=1)
    return out


def attentive_drop_table(
    rules: ExclusionRules | None = None, *, checks=(1, 2, 3, 4, 6, 10, 20), lapse_rate: float | None = None
) -> pd.DataFrame:
    """Share of attentive workers each attention-check rule drops, by number of checks (docs/analysis.md).

    Compares the binomial rule with the old fixed-rate rule (25 %) whatever ``rules`` switches on.
    """
    rules = rules or ExclusionRules()
    both = ExclusionRules(
        catch_alpha=rules.catch_alpha if rules.catch_alpha is not None else 0.05,
        catch_lapse_rate=rules.catch_lapse_rate,
        max_catch_fail_rate=rules.max_catch_fail_rate if rules.max_catch_fail_rate is not None else 0.25,
        min_catch_trials=rules.min_catch_trials,
    )
    probabilities = attentive_drop_probability(np.asarray(checks), both, lapse_rate)
    return pd.DataFrame({"checks": list(checks), **probabilities})


def clean(ratings: pd.DataFrame, choices: pd.DataFrame, rules: ExclusionRules | None = None) -> CleanResult:
    """Apply the exclusion rules to both tables and return cleaned copies plus the log."""
    return _clean_pair(("ratings", ratings), ("choices", choices), rules)


def clean_montages(
    montage_choices: pd.DataFrame, montage_ratings: pd.DataFrame, rules: ExclusionRules | None = None
) -> CleanResult:
    """The same rules on a montage study's tables (docs/analysis.md, "Montages").

    Returns a :class:`CleanResult` whose ``choices`` are the cleaned ``montage_choices`` and whose
    ``ratings`` are the cleaned ``montage_ratings``; the log's ``table`` column names the montage tables.
    Rule ``invalid`` removes answers without a worker, a side other than left/right, a non-catch choice
    without both montages, and a non-catch rating outside 1..7 or without its montage; ``duplicate`` a
    worker judging the same (left, right) montage pair or rating the same montage again.
    """
    return _clean_pair(("montage_ratings", montage_ratings), ("montage_choices", montage_choices), rules)


def _clean_pair(
    ratings: tuple[str, pd.DataFrame], choices: tuple[str, pd.DataFrame], rules: ExclusionRules | None
) -> CleanResult:
    """The rules on one ratings table and one choices table (named as the log should name them)."""
    rules = rules or ExclusionRules()
    log: list[dict[str, object]] = []
    flags: list[pd.DataFrame] = []
    notes: list[str] = []
    clean_ratings = _clean_table(*ratings, rules, log, flags, notes)
    clean_choices = _clean_table(*choices, rules, log, flags, notes)
    worker_flags = (
        pd.concat(flags, ignore_index=True) if flags else pd.DataFrame(columns=["table", "rule", "worker_id"])
    )
    return CleanResult(
        ratings=clean_ratings,
        choices=clean_choices,
        exclusions=pd.DataFrame(log, columns=_LOG_COLUMNS).astype({"workers_flagged": "Int64"}),
        worker_flags=worker_flags,
        rules=rules,
        notes=notes,
    )


def _clean_table(
    table: str,
    frame: pd.DataFrame,
    rules: ExclusionRules,
    log: list[dict[str, object]],
    flags: list[pd.DataFrame],
    notes: list[str],
) -> pd.DataFrame:
    if frame.empty:
        return frame.copy()
    # Types only: out-of-range values and empty cells are rule ``invalid``'s business (counted below).
    validate_frame(frame, table=table, columns=_CLEAN_COLUMNS[table], function="clean", ranges=False, duplicates=None)
    keep = np.ones(len(frame), dtype=bool)

    def record(rule: str, level: str, criterion: str, remove: np.ndarray, workers: pd.Index | None = None) -> None:
        removed = int((keep & remove).sum())
        keep[remove] = False
        log.append(
            {
                "table": table,
                "rule": rule,
                "level": level,
                "criterion": criterion,
                "workers_flagged": None if workers is None else len(workers),
                "rows_removed": removed,
                "rows_remaining": int(keep.sum()),
            }
        )
        if workers is not None and len(workers):
            flags.append(pd.DataFrame({"table": table, "rule": rule, "worker_id": np.asarray(workers, dtype=object)}))

    invalid = _invalid_rows(table, frame)
    record("invalid", "trial", _invalid_criterion(table), invalid)
    duplicate = _duplicate_rows(table, frame) & ~invalid
    record("duplicate", "trial", "same worker answered the same item again (first answer kept)", duplicate)

    usable = frame[keep]
    is_catch = usable["is_catch"].fillna(False).to_numpy(dtype=bool)
    worker = frame["worker_id"]

    if rules.catch_alpha is not None or rules.max_catch_fail_rate is not None:
        catch = usable.loc[is_catch & usable["catch_passed"].notna().to_numpy(), ["worker_id", "catch_passed"]]
        counts = catch.groupby("worker_id", observed=True)["catch_passed"].agg(["size", "sum"])
        counts = counts[counts["size"] >= rules.min_catch_trials]
        untested = worker[keep].nunique() - len(counts)
        if untested:
            notes.append(
                f"{table}: {untested} worker(s) saw fewer than {rules.min_catch_trials} scored attention checks, "
                "so the attention-check rules could not judge them."
            )
        checks = counts["size"].to_numpy(dtype=int)
        failures = checks - counts["sum"].to_numpy(dtype=int)
        flagged = catch_flags(failures, checks, rules)
        expected = attentive_drop_probability(checks, rules) if len(checks) else {}
        criteria = {
            "catch_unlikely": (
                f"failed attention checks with P(>= that many | attentive, lapse {rules.catch_lapse_rate:.0%} "
                f"per check) < {rules.catch_alpha} (>= {rules.min_catch_trials} checks)"
            ),
            "catch_failure": f"failed > {rules.max_catch_fail_rate:.0%} of >= {rules.min_catch_trials} attention checks"
            if rules.max_catch_fail_rate is not None
            else "",
        }
        for rule, bad_mask in flagged.items():
            bad = counts.index[bad_mask]
            record(rule, "worker", criteria[rule], worker.isin(bad).to_numpy(), bad)
            log[-1]["attentive_dropped"] = float(expected[rule].sum()) if len(checks) else 0.0

    if rules.max_fast_share is not None and rules.min_rt_ms is not None:
        fast = usable["rt_ms"].lt(rules.min_rt_ms).fillna(False)
        share = fast.groupby(usable["worker_id"], observed=True).mean()
        bad = share.index[share > rules.max_fast_share]
        record(
            "fast_responder",
            "worker",
            f"> {rules.max_fast_share:.0%} of answers faster than {rules.min_rt_ms} ms",
            worker.isin(bad).to_numpy(),
            bad,
        )

    if rules.straightline_max_share is not None:
        answers = usable.loc[~is_catch]
        column = "rating" if table.endswith("ratings") else "chosen_side"
        bad = _straight_liners(answers, column, rules)
        what = "the same rating" if table.endswith("ratings") else "the same side"
        record(
            "straight_lining",
            "worker",
            f"{what} in >= {rules.straightline_max_share:.0%} of >= {rules.straightline_min_trials} trials",
            worker.isin(bad).to_numpy(),
            bad,
        )

    if table == "ratings" and rules.min_loo_correlation is not None:
        from analysis.reliability import loo_worker_correlation

        loo = loo_worker_correlation(usable.loc[~is_catch], min_items=rules.loo_min_items)
        bad = pd.Index(loo.loc[loo["r"] < rules.min_loo_correlation, "worker_id"])
        record(
            "low_agreement",
            "worker",
            f"correlation with the leave-one-out mean < {rules.min_loo_correlation} (>= {rules.loo_min_items} items)",
            worker.isin(bad).to_numpy(),
            bad,
        )

    if rules.min_rt_ms is not None or rules.max_rt_ms is not None:
        rt = frame["rt_ms"]
        implausible = np.zeros(len(frame), dtype=bool)
        bounds = []
        if rules.min_rt_ms is not None:
            implausible |= rt.lt(rules.min_rt_ms).fillna(False).to_numpy(dtype=bool)
            bounds.append(f"< {rules.min_rt_ms} ms")
        if rules.max_rt_ms is not None:
            implausible |= rt.gt(rules.max_rt_ms).fillna(False).to_numpy(dtype=bool)
            bounds.append(f"> {rules.max_rt_ms} ms")
        implausible &= ~frame["is_catch"].fillna(False).to_numpy(dtype=bool)
        record("implausible_rt", "trial", "reaction time " + " or ".join(bounds), implausible)

    record(
        "catch_trials",
        "trial",
        "attention checks (used by the rules above, not data)",
        frame["is_catch"].fillna(False).to_numpy(dtype=bool),
    )
    return frame.loc[keep].reset_index(drop=True)


_COMMON = ["worker_id", "assignment_id", "trial_index", "is_catch", "catch_passed", "rt_ms", "received_at"]
_CLEAN_COLUMNS = {
    "ratings": [*_COMMON, "pairing_id", "rating", "video_id", "genre_label", "scene_label"],
    "choices": [
        *_COMMON,
        "chosen_side",
        "condition",
        "first_preferred",
        "direction",
        "query_id",
        "left_id",
        "right_id",
    ],
    "montage_ratings": [*_COMMON, "montage_id", "rating"],
    "montage_choices": [*_COMMON, "chosen_side", "left_montage_id", "right_montage_id"],
}


def _invalid_criterion(table: str) -> str:
    if table == "montage_ratings":
        return f"no worker, or a non-catch rating outside {schema.RATING_MIN}..{schema.RATING_MAX} or without montage"
    if table == "montage_choices":
        return "no worker, chosen side not left/right, or a non-catch trial without both montages"
    if table == "ratings":
        return (
            f"no worker, or a non-catch rating outside {schema.RATING_MIN}..{schema.RATING_MAX} or without video/genre"
        )
    return "no worker, chosen side not left/right, or a preference trial without first_preferred"


def _invalid_rows(table: str, frame: pd.DataFrame) -> np.ndarray:
    is_catch = frame["is_catch"].fillna(False).to_numpy(dtype=bool)
    bad = frame["worker_id"].isna().to_numpy(copy=True)
    if table == "montage_ratings":
        rating = frame["rating"]
        out_of_range = ~rating.between(schema.RATING_MIN, schema.RATING_MAX).fillna(False).to_numpy(dtype=bool)
        bad |= ~is_catch & (out_of_range | frame["montage_id"].isna().to_numpy())
    elif table == "montage_choices":
        bad |= ~frame["chosen_side"].isin(["left", "right"]).to_numpy()
        unnamed = (frame["left_montage_id"].isna() | frame["right_montage_id"].isna()).to_numpy()
        bad |= ~is_catch & unnamed
    elif table == "ratings":
        rating = frame["rating"]
        out_of_range = ~rating.between(schema.RATING_MIN, schema.RATING_MAX).fillna(False).to_numpy(dtype=bool)
        unlabelled = (frame["video_id"].isna() | frame["genre_label"].isna() | frame["scene_label"].isna()).to_numpy()
        bad |= ~is_catch & (out_of_range | unlabelled)
    else:
        bad |= ~frame["chosen_side"].isin(["left", "right"]).to_numpy()
        preference = frame["condition"].isin(schema.CONDITIONS).to_numpy()
        bad |= ~is_catch & preference & frame["first_preferred"].isna().to_numpy()
    return bad


def _duplicate_rows(table: str, frame: pd.DataFrame) -> np.ndarray:
    is_catch = frame["is_catch"].fillna(False).to_numpy(dtype=bool)
    key = list(DUPLICATE_KEYS[table])
    order = frame.sort_values(["received_at", "assignment_id", "trial_index"], kind="stable").index
    duplicated = frame.loc[order].duplicated(subset=key, keep="first").reindex(frame.index).to_numpy(dtype=bool)
    return duplicated & ~is_catch


def _straight_liners(answers: pd.DataFrame, column: str, rules: ExclusionRules) -> pd.Index:
    counts = answers.groupby(["worker_id", column], observed=True).size()
    if counts.empty:
        return pd.Index([], dtype=object)
    by_worker = counts.groupby(level="worker_id", observed=True)
    modal_share = by_worker.max() / by_worker.sum()
    total = by_worker.sum()
    eligible = total >= rules.straightline_min_trials
    return modal_share.index[eligible & (modal_share >= rules.straightline_max_share)]
