"""Inter-rater reliability of fit ratings.

* split-half reliability over random splits of the *raters* (not the ratings), Spearman-Brown corrected;
* the six intraclass correlations of Shrout & Fleiss (1979) with F tests and confidence intervals
  (McGraw & Wong 1996 formulas);
* Krippendorff's alpha (ordinal and interval), which handles the crowd design where every item has
  its own set of raters;
* each worker's correlation with the leave-one-out mean of the other raters of the same items.

Everything is vectorised with ``np.bincount`` over integer codes so that the Langlois scale
(716,175 ratings, 79,575 items) costs seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.validation import validate_frame
from exportformat import schema


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """Reliability of a test ``factor`` times as long as one with reliability ``r``."""
    r = np.asarray(r, dtype=float)
    result = factor * r / (1 + (factor - 1) * r)
    return float(result) if result.ndim == 0 else result


def _codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, int]:
    if len(columns) == 1:
        codes, uniques = pd.factorize(frame[columns[0]])
        return codes, len(uniques)
    codes = frame.groupby(list(columns), sort=False, observed=True).ngroup().to_numpy()
    return codes, int(codes.max()) + 1 if len(codes) else 0


@dataclass
class SplitHalf:
    item: str
    n_splits: int
    n_items: float
    r_half: float
    reliability: float
    ci_low: float
    ci_high: float


def split_half(
    ratings: pd.DataFrame,
    *,
    item: Sequence[str] = ("pairing_id",),
    value: str = "rating",
    n_splits: int = 200,
    seed: int = 0,
    duplicates: str = "refuse",
) -> SplitHalf:
    """Split the workers at random into two halves, correlate the item means of the halves across
    items rated in both, Spearman-Brown correct (factor 2); repeat ``n_splits`` times.

    Returns the mean corrected reliability and the 2.5/97.5 % quantiles over splits (the spread due
    to the choice of split, not a sampling CI).
    """
    ratings = validate_frame(
        ratings, table="ratings", columns=["worker_id", *item, value], function="split_half", duplicates=duplicates
    )
    data = ratings.dropna(subset=[value, *item])
    item_code, n_items = _codes(data, item)
    worker_code, n_workers = pd.factorize(data["worker_id"])[0], data["worker_id"].nunique()
    if n_workers < 2 or n_items < 3:
        raise ValueError("split-half reliability needs at least two workers and three items")
    x = data[value].to_numpy(dtype=float)
    # Items x workers sums and counts; a split is a 0/1 vector over workers, so the half-A sums of all
    # items are one sparse product, and a batch of splits one sparse x dense product.
    sums = sparse.csr_matrix((x, (item_code, worker_code)), shape=(n_items, n_workers))
    counts = sparse.csr_matrix((np.ones(len(x)), (item_code, worker_code)), shape=(n_items, n_workers))
    total_sum = np.asarray(sums.sum(axis=1)).ravel()
    total_count = np.asarray(counts.sum(axis=1)).ravel()
    rng = np.random.default_rng(seed)
    rs = np.empty(n_splits)
    used = np.empty(n_splits)
    for start in range(0, n_splits, 25):
        batch = min(25, n_splits - start)
        halves = np.zeros((n_workers, batch))
        for column in range(batch):
            halves[rng.permutation(n_workers)[: n_workers // 2], column] = 1.0
        a_sum, a_count = sums @ halves, counts @ halves
        b_sum, b_count = total_sum[:, None] - a_sum, total_count[:, None] - a_count
        for column in range(batch):
            both = (a_count[:, column] > 0) & (b_count[:, column] > 0)
            used[start + column] = both.sum()
            if both.sum() < 3:
                rs[start + column] = np.nan
                continue
            mean_a = a_sum[both, column] / a_count[both, column]
            mean_b = b_sum[both, column] / b_count[both, column]
            rs[start + column] = _pearson(mean_a, mean_b)
    corrected = spearman_brown(rs)
    return SplitHalf(
        item="+".join(item),
        n_splits=n_splits,
        n_items=float(np.mean(used)),
        r_half=float(np.nanmean(rs)),
        reliability=float(np.nanmean(corrected)),
        ci_low=float(np.nanquantile(corrected, 0.025)),
        ci_high=float(np.nanquantile(corrected, 0.975)),
    )


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else np.nan


# ------------------------------------------------------------------------------------------------ ICC

ICC_FORMS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")
ICC_MEANING = {
    "ICC(1,1)": "one-way random, single rater",
    "ICC(2,1)": "two-way random, absolute agreement, single rater",
    "ICC(3,1)": "two-way mixed, consistency, single rater",
    "ICC(1,k)": "one-way random, mean of k raters",
    "ICC(2,k)": "two-way random, absolute agreement, mean of k raters",
    "ICC(3,k)": "two-way mixed, consistency, mean of k raters",
}


def icc(matrix: np.ndarray, *, alpha: float = 0.05) -> pd.DataFrame:
    """The six Shrout & Fleiss (1979) ICCs of a complete targets x judges matrix.

    Columns: form, icc, F, df1, df2, p_value, ci_low, ci_high, plus the ANOVA mean squares
    (BMS between targets, WMS within targets, JMS between judges, EMS residual) in ``attrs``.
    """
    y = np.asarray(matrix, dtype=float)
    if y.ndim != 2 or np.isnan(y).any():
        raise ValueError("icc needs a complete 2-D targets x judges matrix without missing values")
    n, k = y.shape
    if n < 2 or k < 2:
        raise ValueError("icc needs at least two targets and two judges")
    grand = y.mean()
    ss_targets = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_judges = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((y - grand) ** 2).sum()
    ss_error = ss_total - ss_targets - ss_judges
    bms = ss_targets / (n - 1)
    wms = (ss_judges + ss_error) / (n * (k - 1))
    jms = ss_judges / (k - 1)
    ems = ss_error / ((n - 1) * (k - 1))

    icc11 = (bms - wms) / (bms + (k - 1) * wms)
    icc21 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    icc31 = (bms - ems) / (bms + (k - 1) * ems)
    icc1k = (bms - wms) / bms
    icc2k = (bms - ems) / (bms + (jms - ems) / n)
    icc3k = (bms - ems) / bms

    df1, df2_one, df2_two = n - 1, n * (k - 1), (n - 1) * (k - 1)
    f_one, f_two = bms / wms, bms / ems
    p_one = stats.f.sf(f_one, df1, df2_one)
    p_two = stats.f.sf(f_two, df1, df2_two)
    q = 1 - alpha / 2

    fl1 = f_one / stats.f.ppf(q, df1, df2_one)
    fu1 = f_one * stats.f.ppf(q, df2_one, df1)
    fl3 = f_two / stats.f.ppf(q, df1, df2_two)
    fu3 = f_two * stats.f.ppf(q, df2_two, df1)

    # ICC(2,1): Satterthwaite approximation (Shrout & Fleiss 1979, eq. 6-8; McGraw & Wong 1996).
    a = k * icc21 / (n * (1 - icc21))
    b = 1 + k * icc21 * (n - 1) / (n * (1 - icc21))
    v = (a * jms + b * ems) ** 2 / ((a * jms) ** 2 / (k - 1) + (b * ems) ** 2 / df2_two)
    fs_low = stats.f.ppf(q, n - 1, v)
    fs_high = stats.f.ppf(q, v, n - 1)
    low21 = n * (bms - fs_low * ems) / (fs_low * (k * jms + (k * n - k - n) * ems) + n * bms)
    high21 = n * (fs_high * bms - ems) / (k * jms + (k * n - k - n) * ems + n * fs_high * bms)

    rows = [
        ("ICC(1,1)", icc11, f_one, df1, df2_one, p_one, (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)),
        ("ICC(2,1)", icc21, f_two, df1, df2_two, p_two, low21, high21),
        ("ICC(3,1)", icc31, f_two, df1, df2_two, p_two, (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)),
        ("ICC(1,k)", icc1k, f_one, df1, df2_one, p_one, 1 - 1 / fl1, 1 - 1 / fu1),
        ("ICC(2,k)", icc2k, f_two, df1, df2_two, p_two, spearman_brown(low21, k), spearman_brown(high21, k)),
        ("ICC(3,k)", icc3k, f_two, df1, df2_two, p_two, 1 - 1 / fl3, 1 - 1 / fu3),
    ]
    table = pd.DataFrame(rows, columns=["form", "icc", "F", "df1", "df2", "p_value", "ci_low", "ci_high"])
    table.insert(1, "meaning", table["form"].map(ICC_MEANING))
    table.attrs.update({"BMS": bms, "WMS": wms, "JMS": jms, "EMS": ems, "n": n, "k": k})
    return table


def rating_matrix(
    ratings: pd.DataFrame,
    *,
    k: int | None = None,
    item: str = "pairing_id",
    value: str = "rating",
    duplicates: str = "refuse",
) -> tuple[np.ndarray, int]:
    """Items x k matrix of the first ``k`` ratings of every item rated at least ``k`` times.

    In crowd data the "judges" are rating slots (1st, 2nd, ... rating an item received, by
    ``received_at``), not the same people across items; see ``icc`` caveats in docs/analysis.md.
    ``k`` defaults to the most common number of ratings per item. Returns (matrix, items dropped).
    """
    ratings = validate_frame(
        ratings, table="ratings", columns=[item, value, "received_at"], function="rating_matrix", duplicates=duplicates
    )
    data = ratings.dropna(subset=[item, value]).sort_values([item, "received_at"], kind="stable")
    counts = data.groupby(item, observed=True).size()
    if counts.empty:
        raise ValueError("no rated items")
    if k is None:
        k = int(counts.mode().max())
    eligible = counts.index[counts >= k]
    data = data[data[item].isin(eligible)]
    slot = data.groupby(item, observed=True).cumcount().to_numpy()
    data = data[slot < k]
    matrix = data[value].to_numpy(dtype=float).reshape(len(eligible), k)
    return matrix, int(len(counts) - len(eligible))


# ------------------------------------------------------------------------------------- Krippendorff


def krippendorff_alpha(
    ratings: pd.DataFrame,
    *,
    level: str,
    item: Sequence[str] = ("pairing_id",),
    value: str = "rating",
    value_domain: Sequence[int] | None = None,
    duplicates: str = "refuse",
) -> float:
    """Krippendorff's alpha from long data (one row per rating), via the unit x value count matrix.

    Building value counts instead of a raters x units matrix keeps memory at units x 7 cells; a
    dense matrix would be 2,400 workers x 79,575 pairings at Langlois scale.
    """
    ratings = validate_frame(
        ratings, table="ratings", columns=[*item, value], function="krippendorff_alpha", duplicates=duplicates
    )
    domain = list(value_domain or range(schema.RATING_MIN, schema.RATING_MAX + 1))
    data = ratings.dropna(subset=[value, *item])
    unit, n_units = _codes(data, item)
    position = pd.Index(domain).get_indexer(data[value].to_numpy())
    if (position < 0).any():
        unknown = sorted(set(data[value].to_numpy()[position < 0].tolist()))
        raise ValueError(f"values {unknown} are not in the value domain {domain}")
    counts = np.bincount(unit * len(domain) + position, minlength=n_units * len(domain)).reshape(n_units, -1)
    pairable = counts.sum(axis=1) >= 2
    if pairable.sum() < 1:
        raise ValueError("Krippendorff's alpha needs at least one unit with two or more ratings")
    return float(krippendorff.alpha(value_counts=counts[pairable], value_domain=domain, level_of_measurement=level))


# ------------------------------------------------------------------------------------- LOO agreement


def loo_worker_correlation(
    ratings: pd.DataFrame,
    *,
    item: Sequence[str] = ("pairing_id",),
    value: str = "rating",
    min_items: int = 5,
    duplicates: str = "refuse",
) -> pd.DataFrame:
    """Per worker: Pearson r between their ratings and the mean of the *other* raters of each item.

    Items nobody else rated are skipped; workers with fewer than ``min_items`` such items, or with
    no variance on either side, get r = NaN. Columns: worker_id, n_items, r.
    """
    ratings = validate_frame(
        ratings,
        table="ratings",
        columns=["worker_id", *item, value],
        function="loo_worker_correlation",
        duplicates=duplicates,
    )
    data = ratings.dropna(subset=[value, *item])
    if data.empty:
        return pd.DataFrame({"worker_id": pd.Series([], dtype=object), "n_items": [], "r": []})
    unit, n_units = _codes(data, item)
    x = data[value].to_numpy(dtype=float)
    sums = np.bincount(unit, weights=x, minlength=n_units)
    counts = np.bincount(unit, minlength=n_units)
    others = counts[unit] - 1
    shared = others > 0
    loo = np.where(shared, (sums[unit] - x) / np.maximum(others, 1), np.nan)
    worker, workers = pd.factorize(data["worker_id"])
    w, a, b = worker[shared], x[shared], loo[shared]
    n_workers = len(workers)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(w, weights=values, minlength=n_workers)

    n = np.bincount(w, minlength=n_workers).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a, mean_b = total(a) / n, total(b) / n
        cov = total(a * b) / n - mean_a * mean_b
        var_a = total(a * a) / n - mean_a**2
        var_b = total(b * b) / n - mean_b**2
        r = cov / np.sqrt(var_a * var_b)
    # Round-off can leave a constant worker's variance at +-1e-16 instead of 0.
    r[(var_a <= 1e-12) | (var_b <= 1e-12) | (n < min_items)] = np.nan
    return pd.DataFrame({"worker_id": np.asarray(workers, dtype=object), "n_items": n.astype(int), "r": r})
