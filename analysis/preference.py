"""The VM-NET human preference test (Hong et al., Table IV and Fig. 7), with inference that honours subjects.

Each preference trial pairs two options of different kinds: G (ground truth), R (random), S (search
result). ``condition`` names the pair with the "first" kind first (GR, GS, SR) and
``first_preferred`` says whether that option was chosen. Table IV reports the share of answers
preferring the first option per condition and direction (V2M, M2V, total).

A subject's answers are not independent: subjects differ in how strongly they prefer the first
option. Treating 53 x 40 answers as 2,120 independent ones (the pooled binomial test) rejects a true
50 % in about a quarter of null studies (docs/analysis.md). The headline of every human cell
(:func:`clustered_share_table`) therefore comes from a **GEE** (Liang & Zeger 1986): a logistic model
with an intercept only, exchangeable working correlation within subjects and the robust (sandwich)
covariance, fitted by statsmodels. Its Wald test of share = 50 % is Holm-adjusted across the cells
of the table (Holm 1979). Next to it: the subject-level one-sample t-test and the Wilcoxon
signed-rank test of per-subject shares, and the pooled share with its Wilson interval and exact
binomial test, labelled as such (``pooled_*`` columns).

GEE rather than a mixed logistic model: the question is the population-averaged share (what Table
IV prints), which the GEE intercept estimates directly; a random-intercept logit estimates the
median subject's log-odds, and statsmodels fits it only approximately (variational Bayes / Laplace).

The "machine" row: given embedding distances between clips and excerpts, the machine prefers the
option closer to the query, evaluated once per distinct comparison (a question shown again with its
sides swapped is the same comparison), so its binomial test over comparisons is exact.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.multitest import multipletests

from analysis.validation import validate_frame
from exportformat import schema
from mvfit_common.stats import wilson_interval

DIRECTION_ORDER = ("V2M", "M2V", "total")
HEADLINE_METHOD = "GEE (exchangeable, robust SE), Holm-adjusted"
MACHINE_METHOD = "exact binomial over distinct comparisons"


def binomial_p_value(successes: int, trials: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test (scipy's minlike method)."""
    if trials == 0:
        return float("nan")
    return float(stats.binomtest(int(successes), int(trials), p).pvalue)


TRIAL_COLUMNS = ("worker_id", "condition", "direction", "first")


def _trials(trials: pd.DataFrame, function: str, columns=TRIAL_COLUMNS, duplicates: str = "refuse") -> pd.DataFrame:
    return validate_frame(trials, table="choices", columns=list(columns), function=function, duplicates=duplicates)


def preference_trials(choices: pd.DataFrame, *, duplicates: str = "refuse") -> pd.DataFrame:
    """Non-catch preference trials (condition GR/GS/SR) with a boolean ``first`` column."""
    choices = validate_frame(
        choices,
        table="choices",
        columns=["worker_id", "condition", "direction", "is_catch", "first_preferred"],
        function="preference_trials",
        duplicates=duplicates,
    )
    mask = choices["condition"].isin(schema.CONDITIONS) & ~choices["is_catch"].fillna(False).astype(bool)
    trials = choices.loc[mask & choices["first_preferred"].notna()].copy()
    trials["first"] = trials["first_preferred"].astype(bool)
    return trials


def _with_total(trials: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([trials, trials.assign(direction="total")], ignore_index=True)


def share_table(trials: pd.DataFrame, *, subject: str = "Human", outcome: str = "first") -> pd.DataFrame:
    """Long table: subject, condition, direction, n, k, share, ci_low, ci_high, p_binomial."""
    trials = _trials(trials, "share_table", ("condition", "direction", outcome))
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
    trials = _trials(trials, "subject_shares")
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


# ------------------------------------------------------------------------------------ clustered (GEE)


def gee_share(first: np.ndarray, subjects: np.ndarray) -> dict[str, float]:
    """Intercept-only logistic GEE with exchangeable working correlation (statsmodels), robust SE.

    Returns share (population-averaged), ci_low/ci_high (95 %, Wald on the logit scale), z and
    p_gee (two-sided test of share = 50 %), rho (the estimated working correlation) and the logit
    estimate and robust SE. The Wald statistic is referred to Student's t with (subjects - 1) degrees
    of freedom instead of the normal: the sandwich SE is estimated from the subjects alone, and with
    the normal the test is liberal below ~30 subjects (9 % at 10 subjects; docs/analysis.md). Undefined (NaN) with fewer than two subjects or when every answer is
    the same (the logit is then infinite).
    """
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable

    y = np.asarray(first, dtype=float)
    groups = pd.factorize(np.asarray(subjects))[0]
    empty = {key: np.nan for key in ("share", "ci_low", "ci_high", "z", "p_gee", "rho", "logit", "se")}
    if len(y) == 0:
        return empty
    if groups.max() < 1 or y.min() == y.max():
        return {**empty, "share": float(y.mean())}
    model = sm.GEE(y, np.ones((len(y), 1)), groups=groups, family=sm.families.Binomial(), cov_struct=Exchangeable())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below
        fit = model.fit(maxiter=100)
    logit, se = float(fit.params[0]), float(fit.bse[0])
    if not np.isfinite(se) or se <= 0:
        return empty
    df = int(groups.max())  # subjects - 1
    q = stats.t.ppf(0.975, df)
    z = logit / se
    return {
        "share": float(special.expit(logit)),
        "ci_low": float(special.expit(logit - q * se)),
        "ci_high": float(special.expit(logit + q * se)),
        "z": z,
        "p_gee": float(2 * stats.t.sf(abs(z), df)),
        "rho": float(model.cov_struct.dep_params),
        "logit": logit,
        "se": se,
    }


def gee_intercept(successes: np.ndarray, sizes: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10):
    """The same GEE as :func:`gee_share`, in closed form and vectorised over studies.

    ``successes`` and ``sizes`` are (studies x subjects) arrays of per-subject counts (a subject with
    size 0 is absent). With exchangeable working correlation rho, a subject's estimating function is
    w_i (S_i - n_i mu) with w_i = 1 / (1 + (n_i - 1) rho), so mu = sum w_i S_i / sum w_i n_i; rho is
    statsmodels' moment estimator (``Exchangeable.update``, scale with 1 degree of freedom), iterated
    to a fixed point. The robust variance of logit(mu) is sum w_i^2 (S_i - n_i mu)^2 / (mu (1 - mu)
    sum w_i n_i)^2. Returns (logit, robust SE, rho), each of length studies.
    """
    s = np.atleast_2d(np.asarray(successes, dtype=float))
    n = np.atleast_2d(np.asarray(sizes, dtype=float))
    present = n > 0
    nobs = n.sum(axis=1)
    pairs = (n * (n - 1) / 2).sum(axis=1)
    rho = np.zeros(len(s))
    mu = s.sum(axis=1) / nobs
    for _ in range(max_iter):
        w = np.where(present, 1 / (1 + (n - 1) * rho[:, None]), 0.0)
        mu = (w * s).sum(axis=1) / (w * n).sum(axis=1)
        m = mu[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = m * (1 - m)
            resid_sum = (s - n * m) / np.sqrt(variance)
            ssr = (s * (1 - m) ** 2 + (n - s) * m**2) / variance
            scale = ssr.sum(axis=1) / (nobs - 1)
            new_rho = ((resid_sum**2 - ssr) / 2).sum(axis=1) / scale / (pairs - 1)
        done = np.nanmax(np.abs(new_rho - rho)) < tol if np.isfinite(new_rho).any() else True
        rho = new_rho
        if done:
            break
    w = np.where(present, 1 / (1 + (n - 1) * rho[:, None]), 0.0)
    mu = (w * s).sum(axis=1) / (w * n).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        meat = (w**2 * (s - n * mu[:, None]) ** 2).sum(axis=1)
        bread = mu * (1 - mu) * (w * n).sum(axis=1)
        se = np.sqrt(meat) / bread
        logit = special.logit(mu)
    return logit, se, rho


def clustered_share_table(trials: pd.DataFrame, *, subject: str = "Human", alpha: float = 0.05) -> pd.DataFrame:
    """The human rows of Table IV with inference that accounts for subjects.

    One row per condition x direction (incl. total): ``share``/``ci_low``/``ci_high``/``p_gee`` from
    :func:`gee_share` (the headline), ``p_holm`` (Holm's step-down adjustment of ``p_gee`` over every
    cell of this table with a defined p) and ``reject_holm`` at ``alpha``; the subject-level tests
    (``subjects``, ``mean_subject_share``, ``p_t``, ``p_wilcoxon``, see :func:`subject_tests`); and
    the naive pooled binomial (``pooled_share``, ``pooled_ci_low``, ``pooled_ci_high`` Wilson,
    ``p_pooled_binomial``), which treats every answer as an independent subject and is kept only for
    comparison with the published table.
    """
    trials = _trials(trials, "clustered_share_table")
    pooled = share_table(trials, subject=subject).rename(
        columns={
            "share": "pooled_share",
            "ci_low": "pooled_ci_low",
            "ci_high": "pooled_ci_high",
            "p_binomial": "p_pooled_binomial",
        }
    )
    both = _with_total(trials)
    headline = []
    for condition in schema.CONDITIONS:
        for direction in DIRECTION_ORDER:
            cell = both.loc[(both["condition"] == condition) & (both["direction"] == direction)]
            row = gee_share(cell["first"].to_numpy(), cell["worker_id"].to_numpy())
            headline.append({"condition": condition, "direction": direction, **row})
    headline = pd.DataFrame(headline)
    tested = headline["p_gee"].notna().to_numpy()
    headline["p_holm"] = np.nan
    headline["reject_holm"] = False
    if tested.any():
        reject, adjusted, _, _ = multipletests(headline.loc[tested, "p_gee"], alpha=alpha, method="holm")
        headline.loc[tested, "p_holm"] = adjusted
        headline.loc[tested, "reject_holm"] = reject
    subjects = subject_tests(subject_shares(trials)).rename(
        columns={"mean_share": "mean_subject_share", "ci_low": "t_ci_low", "ci_high": "t_ci_high"}
    )
    table = pooled.merge(headline, on=["condition", "direction"]).merge(
        subjects[
            ["condition", "direction", "subjects", "mean_subject_share", "t_ci_low", "t_ci_high", "p_t", "p_wilcoxon"]
        ],
        on=["condition", "direction"],
    )
    table.insert(1, "method", HEADLINE_METHOD)
    return table[list(CLUSTERED_COLUMNS)]


CLUSTERED_COLUMNS = (
    "subject",
    "method",
    "condition",
    "direction",
    "subjects",
    "n",
    "k",
    "share",
    "ci_low",
    "ci_high",
    "p_gee",
    "p_holm",
    "reject_holm",
    "rho",
    "mean_subject_share",
    "t_ci_low",
    "t_ci_high",
    "p_t",
    "p_wilcoxon",
    "pooled_share",
    "pooled_ci_low",
    "pooled_ci_high",
    "p_pooled_binomial",
)


def null_rejection_rates(
    *,
    studies: int = 400,
    subjects: int = 53,
    answers: int = 40,
    subject_sd: float = 0.5,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """Share of simulated null studies (true population share 50 %) each test rejects at ``alpha``.

    Each subject's log-odds of preferring the first option is N(0, ``subject_sd``); they answer
    ``answers`` questions. Vectorised over studies (one closed-form GEE per study,
    :func:`gee_intercept`), so 400 studies take well under a second.
    """
    rng = np.random.default_rng(seed)
    p = special.expit(rng.normal(0.0, subject_sd, size=(studies, subjects)))
    s = rng.binomial(answers, p).astype(float)
    n = np.full_like(s, answers)
    logit, se, _ = gee_intercept(s, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_gee = 2 * stats.t.sf(np.abs(logit / se), subjects - 1)
    shares = s / answers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_t = stats.ttest_1samp(shares, 0.5, axis=1).pvalue
    k = s.sum(axis=1)
    total = subjects * answers
    # exact two-sided binomial test at 1/2 (symmetric: minlike = twice the smaller tail)
    p_pooled = np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(k, total - k), total, 0.5))
    return {
        "gee": float(np.mean(np.nan_to_num(p_gee, nan=1.0) < alpha)),
        "subject_t": float(np.mean(np.nan_to_num(p_t, nan=1.0) < alpha)),
        "pooled_binomial": float(np.mean(p_pooled < alpha)),
    }


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
    """One row per model and distinct comparison: did the machine prefer the first option?

    The first option is the one whose kind is the first letter of ``condition``. Questions with a
    missing distance or a tie are left out and counted in the returned notes.
    """
    trials = _trials(
        trials,
        "machine_choices",
        ("condition", "direction", "query_id", "left_id", "right_id", "left_kind"),
        duplicates=None,  # many subjects answer the same question; the machine counts it once
    )
    notes: list[str] = []
    questions = trials.copy()
    left_first = questions["left_kind"].astype(str) == questions["condition"].str[0]
    questions["first_id"] = np.where(left_first, questions["left_id"], questions["right_id"])
    questions["second_id"] = np.where(left_first, questions["right_id"], questions["left_id"])
    # One comparison is (direction, query, first option, second option): the same question shown
    # again with the sides swapped is not a new comparison for a deterministic machine.
    questions = questions.drop_duplicates(["direction", "condition", "query_id", "first_id", "second_id"])
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
