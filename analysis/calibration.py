"""Rater calibration: per-worker z-scores and a linear mixed model with worker random intercepts.

Langlois notes that raters differ in their average rating; both tools here separate that from the
music-video fit itself. The z-score removes each worker's location and scale; the mixed model keeps
the 7-point scale and estimates how much of the rating variance is worker bias.

Model: rating = mu[scene, genre] + u[worker] + e, u ~ N(0, tau2), e ~ N(0, sigma2), with one fixed
mean per observed scene x genre cell (the same model as main effects plus interaction).

Scale (716,175 Langlois ratings): statsmodels' MixedLM builds dense per-worker design matrices with
one column per cell (200+), which takes minutes and gigabytes on all rows. The fit is therefore
done in two exact-enough steps, both reported:

1. **variance components** (tau2, sigma2): REML on a random subsample of whole workers
   (``max_rows``, default 20,000 ratings; each sampled worker keeps all their ratings so their
   intercept stays estimable, and since workers rate random pairings the cell design stays
   balanced). With one random intercept the REML criterion profiles down to one parameter, the
   variance ratio gamma = tau2 / sigma2 (sigma2 and the fixed effects have closed forms given
   gamma), so :func:`reml_random_intercept` minimises it exactly — a grid over log gamma, then
   Brent's root of the analytic derivative — instead of statsmodels' general quasi-Newton search, whose
   default stopping rule leaves the components off in the 6th significant figure on lme4's
   ``dietox`` reference (Bates et al. 2015). The REML criterion (-2 x REML log-likelihood, lme4's
   "REML criterion at convergence") and the convergence check are reported;
2. **cell means**: generalised least squares on *all* ratings given those variance components,
   in closed form (V_i^-1 = (I - c_i 11') / sigma2, c_i = tau2 / (sigma2 + n_i tau2)) with sparse
   worker x cell counts. On the subsample itself this reproduces MixedLM's fixed effects exactly
   (tests/analysis/test_calibration.py checks it), so step 2 only adds the remaining data.

Crossed video and music variance components (``item_effects``) need a single all-rows group in
statsmodels, which scales far worse; that variant runs on a plain random row subsample
(``item_max_rows``, default 3,000) and contributes variance components only.

BLAS is limited to one thread during the fit: the many small per-worker matrix products run ~10x
slower when OpenBLAS threads compete for the cores of a shared machine.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats
from threadpoolctl import threadpool_limits

from analysis.validation import validate_frame


def zscore_by_worker(ratings: pd.DataFrame, column: str = "rating", *, duplicates: str = "refuse") -> pd.Series:
    """Each rating minus its worker's mean, divided by the worker's sample SD (ddof=1).

    Workers with fewer than two ratings, or who always gave the same rating, have no defined scale:
    their z-scores are NaN (the straight-lining rule normally removes them first). Input is
    validated (analysis.validation); with ``duplicates="drop"`` repeated answers are left out and
    get NaN.
    """
    checked = validate_frame(
        ratings, table="ratings", columns=["worker_id", column], function="zscore_by_worker", duplicates=duplicates
    )
    if checked is not ratings:
        return _zscores(checked, column).reindex(ratings.index)
    return _zscores(ratings, column)


def _zscores(ratings: pd.DataFrame, column: str) -> pd.Series:
    values = ratings[column].astype(float)
    grouped = values.groupby(ratings["worker_id"], observed=True)
    mean = grouped.transform("mean")
    sd = grouped.transform("std")
    z = (values - mean) / sd.where(sd > 0)
    return z.rename("z")


@dataclass
class MixedModelResult:
    cell_means: pd.DataFrame
    variance: dict[str, float]
    worker_icc: float
    tests: pd.DataFrame
    n_rows: int
    n_rows_total: int
    n_workers: int
    converged: bool
    response: str
    item_effects: bool
    reml_criterion: float = np.nan
    optimizer: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class RemlFit:
    """REML fit of y = X beta + u[group] + e with u ~ N(0, tau2), e ~ N(0, sigma2)."""

    tau2: float
    sigma2: float
    beta: np.ndarray
    cov_beta: np.ndarray
    reml_criterion: float
    converged: bool
    boundary: bool
    evaluations: int
    gradient: float

    @property
    def optimizer(self) -> str:
        return (
            "profiled REML over log(tau2/sigma2): grid, then Brent's root of the analytic derivative; "
            f"{self.evaluations} evaluations, |d criterion / d log ratio| = {self.gradient:.1e}"
            + (", at the boundary tau2 = 0" if self.boundary else "")
        )


def reml_random_intercept(y: np.ndarray, exog, groups: np.ndarray) -> RemlFit:
    """REML for a linear model with one random intercept per group, by exact 1-D profiling.

    With H = I + gamma Z Z' (block i: I + gamma 11', inverse I - c_i 11', c_i = gamma / (1 + n_i gamma),
    log det = log(1 + n_i gamma)), beta(gamma) is GLS, sigma2(gamma) = r'H^-1 r / (N - p) and
    -2 l_REML = (N - p)(1 + log(2 pi sigma2)) + log det H + log det X'H^-1 X, the criterion lme4 prints.
    ``exog`` may be dense or scipy-sparse (N x p, full column rank); ``groups`` are codes 0..G-1.
    """
    y = np.asarray(y, dtype=float)
    groups = np.asarray(groups)
    n_obs = len(y)
    x = sparse.csr_matrix(exog) if sparse.issparse(exog) else np.asarray(exog, dtype=float)
    p = x.shape[1]
    if n_obs <= p:
        raise ValueError(f"REML needs more observations ({n_obs}) than fixed effects ({p})")
    n_groups = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=n_groups).astype(float)
    z = sparse.csr_matrix((np.ones(n_obs), (groups, np.arange(n_obs))), shape=(n_groups, n_obs))
    xtx = x.T @ x
    xtx = xtx.toarray() if sparse.issparse(xtx) else xtx
    sx = z @ x
    sx = sx.toarray() if sparse.issparse(sx) else np.asarray(sx)
    xty = np.asarray(x.T @ y).ravel()
    sy = z @ y
    yty = float(y @ y)

    def profile(log_ratio: float) -> tuple[float, float, np.ndarray, np.ndarray, float]:
        """Criterion, sigma2, beta, X'H^-1X and the criterion's derivative in log(gamma)."""
        gamma = np.exp(log_ratio)
        c = gamma / (1 + sizes * gamma)
        information = xtx - sx.T @ (c[:, None] * sx)
        score = xty - sx.T @ (c * sy)
        factor = np.linalg.cholesky(information)
        beta = np.linalg.solve(information, score)
        # r'H^-1 r = y'H^-1 y - score' beta at the GLS solution
        rss = yty - float((c * sy * sy).sum()) - float(score @ beta)
        sigma2 = rss / (n_obs - p)
        criterion = (
            (n_obs - p) * (1 + np.log(2 * np.pi * sigma2))
            + float(np.log1p(sizes * gamma).sum())
            + 2 * float(np.log(np.diag(factor)).sum())
        )
        # d/d gamma: rss' = -sum (1'H_i^-1 r_i)^2, (log det H)' = sum n_i / (1 + n_i gamma),
        # (log det X'H^-1X)' = -tr((X'H^-1X)^-1 sum w_i w_i'), w_i = X_i'1 / (1 + n_i gamma)
        shrink = 1 / (1 + sizes * gamma)
        residual_sums = (sy - sx @ beta) * shrink
        w = sx * shrink[:, None]
        solved = np.linalg.solve(information, w.T)
        derivative = (
            -(n_obs - p) * float((residual_sums**2).sum()) / rss
            + float((sizes * shrink).sum())
            - float((w.T * solved).sum())
        )
        return criterion, sigma2, beta, information, gamma * derivative

    evaluations = 0

    def objective(log_ratio: float) -> float:
        nonlocal evaluations
        evaluations += 1
        return profile(log_ratio)[0]

    def slope(log_ratio: float) -> float:
        nonlocal evaluations
        evaluations += 1
        return profile(log_ratio)[4]

    low, high = -25.0, 15.0
    grid = np.linspace(-12.0, 8.0, 41)
    best = int(np.argmin([objective(v) for v in grid]))
    left = grid[best - 1] if best > 0 else low
    right = grid[best + 1] if best < len(grid) - 1 else high
    if slope(left) < 0 < slope(right):
        # the minimum is where the analytic derivative crosses zero: root to machine precision
        log_ratio, info = optimize.brentq(slope, left, right, xtol=1e-14, rtol=1e-15, full_output=True)
        success = bool(info.converged)
    else:
        result = optimize.minimize_scalar(
            objective, bounds=(left, right), method="bounded", options={"xatol": 1e-10, "maxiter": 500}
        )
        log_ratio, success = float(result.x), bool(result.success)
    criterion, sigma2, beta, information, gradient = profile(log_ratio)
    boundary = log_ratio <= low + 1e-6 or (gradient > 0 and log_ratio < grid[0])
    tau2 = 0.0 if boundary else float(np.exp(log_ratio) * sigma2)
    converged = success and (boundary or abs(gradient) < 1e-6 * max(1.0, abs(criterion)))
    return RemlFit(
        tau2=tau2,
        sigma2=float(sigma2),
        beta=beta,
        cov_beta=sigma2 * np.linalg.inv(information),
        reml_criterion=float(criterion),
        converged=converged,
        boundary=boundary,
        evaluations=evaluations,
        gradient=float(abs(gradient)),
    )


def fit_mixed_model(
    ratings: pd.DataFrame,
    *,
    response: str = "rating",
    item_effects: bool = False,
    max_rows: int | None = 20_000,
    item_max_rows: int = 3_000,
    seed: int = 0,
    duplicates: str = "refuse",
) -> MixedModelResult:
    """Fit ``response ~ scene x genre + (1 | worker)``; see the module docstring for the two steps.

    Wald tests for the scene and genre main effects and their interaction are computed from
    contrasts of the cell means (complete grid of observed cells only). With ``item_effects`` the
    variance components also include crossed random intercepts for video and music track.
    """
    columns = ["worker_id", "scene_label", "genre_label", response, *(("video_id", "music_id") if item_effects else ())]
    ratings = validate_frame(
        ratings, table="ratings", columns=columns, function="fit_mixed_model", duplicates=duplicates
    )
    data = ratings.dropna(subset=[response, "scene_label", "genre_label", "worker_id"])
    n_total = len(data)
    if n_total == 0:
        raise ValueError("no ratings to model")
    if data["worker_id"].nunique() < 2:
        raise ValueError("the mixed model needs ratings from at least two workers")
    notes: list[str] = []
    rng = np.random.default_rng(seed)
    codes, cells = _cell_codes(data)
    y = data[response].to_numpy(dtype=float)
    workers = pd.factorize(data["worker_id"])[0]

    sample = data
    if max_rows is not None and n_total > max_rows:
        sample = _subsample_workers(data, max_rows, rng)
        notes.append(
            f"Variance components from MixedLM on {len(sample):,} of {n_total:,} ratings (all ratings of "
            f"{sample['worker_id'].nunique():,} randomly chosen workers, seed {seed}); cell means by GLS on all "
            "ratings given those components (docs/analysis.md)."
        )
    sample_codes, _ = _cell_codes(sample, cells)
    present = np.unique(sample_codes)  # a cell missing from the subsample would make X singular
    column = np.full(len(cells), -1)
    column[present] = np.arange(len(present))
    exog = sparse.csr_matrix(
        (np.ones(len(sample)), (np.arange(len(sample)), column[sample_codes])), shape=(len(sample), len(present))
    )
    with threadpool_limits(limits=1, user_api="blas"):
        fit = reml_random_intercept(sample[response].to_numpy(dtype=float), exog, pd.factorize(sample["worker_id"])[0])
    if not fit.converged:
        notes.append(f"REML did not converge: {fit.optimizer}.")
    if fit.boundary:
        notes.append("The worker variance is estimated at 0 (REML optimum on the boundary).")
    tau2, sigma2 = fit.tau2, fit.sigma2
    params, cov = gls_cell_means(codes, len(cells), workers, y, tau2=tau2, sigma2=sigma2)

    variance = {"worker": tau2, "residual": sigma2}
    if item_effects:
        item_variance, item_notes = _item_components(data, response, item_max_rows, rng)
        notes.extend(item_notes)
        variance = item_variance
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    z = stats.norm.ppf(0.975)
    cell_means = pd.DataFrame(
        {
            "scene_label": cells.get_level_values(0),
            "genre_label": cells.get_level_values(1),
            "estimate": params,
            "se": se,
            "ci_low": params - z * se,
            "ci_high": params + z * se,
            "n": np.bincount(codes, minlength=len(cells)),
        }
    )
    total = sum(variance.values())
    return MixedModelResult(
        cell_means=cell_means,
        variance=variance,
        worker_icc=variance["worker"] / total if total > 0 else np.nan,
        tests=_cell_tests(cells, params, cov),
        n_rows=len(sample),
        n_rows_total=n_total,
        n_workers=int(sample["worker_id"].nunique()),
        converged=fit.converged,
        response=response,
        item_effects=item_effects,
        reml_criterion=fit.reml_criterion,
        optimizer=fit.optimizer,
        notes=notes,
    )


def _cell_codes(data: pd.DataFrame, cells: pd.MultiIndex | None = None) -> tuple[np.ndarray, pd.MultiIndex]:
    index = pd.MultiIndex.from_arrays(
        [data["scene_label"].astype(str).to_numpy(), data["genre_label"].astype(str).to_numpy()],
        names=["scene_label", "genre_label"],
    )
    if cells is None:
        codes, cells = pd.factorize(index, sort=True)
        return codes, cells
    return cells.get_indexer(index), cells


def gls_cell_means(
    codes: np.ndarray, n_cells: int, groups: np.ndarray, y: np.ndarray, *, tau2: float, sigma2: float
) -> tuple[np.ndarray, np.ndarray]:
    """GLS estimates and covariance of cell means under a random-intercept model with known variances.

    With V_i = sigma2 I + tau2 11' for group i of size n_i, V_i^-1 = (I - c_i 11') / sigma2 where
    c_i = tau2 / (sigma2 + n_i tau2), so X'V^-1X and X'V^-1y only need per-group cell counts (sparse).
    """
    n_groups = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=n_groups)
    c = tau2 / (sigma2 + sizes * tau2)
    counts = sparse.csr_matrix((np.ones(len(y)), (groups, codes)), shape=(n_groups, n_cells))
    information = (
        sparse.diags(np.bincount(codes, minlength=n_cells).astype(float)) - counts.T @ sparse.diags(c) @ counts
    )
    information = np.asarray(information.todense()) / sigma2
    score = (
        np.bincount(codes, weights=y, minlength=n_cells)
        - counts.T @ (c * np.bincount(groups, weights=y, minlength=n_groups))
    ) / sigma2
    cov = np.linalg.inv(information)
    return cov @ score, cov


def _item_components(
    data: pd.DataFrame, response: str, item_max_rows: int, rng: np.random.Generator
) -> tuple[dict[str, float], list[str]]:
    """Crossed worker, video and music variance components (single all-rows group in statsmodels)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    notes = []
    if len(data) > item_max_rows:
        data = data.iloc[np.sort(rng.choice(len(data), size=item_max_rows, replace=False))]
        notes.append(
            f"Crossed worker/video/music variance components from a random subsample of {item_max_rows:,} ratings "
            "(statsmodels needs one all-rows group for crossed effects, which is slow)."
        )
    codes, _ = _cell_codes(data)
    frame = pd.DataFrame(
        {
            "y": data[response].to_numpy(dtype=float),
            "cell": codes,
            "group": 1,
            "worker": pd.factorize(data["worker_id"])[0],
            "video": pd.factorize(data["video_id"])[0],
            "music": pd.factorize(data["music_id"])[0],
        }
    )
    components = ["worker"]
    # A track is nested in its genre (a video in its scene): with one track per genre its random
    # effect is the genre's fixed effect again and cannot be estimated.
    for name, column, label in (("video", "video_id", "scene_label"), ("music", "music_id", "genre_label")):
        if data.groupby(label, observed=True)[column].nunique().max() > 1:
            components.append(name)
        else:
            notes.append(f"No {name} variance component: every {label.split('_')[0]} has a single {name} item.")
    vc = {name: f"0 + C({name})" for name in components}
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("always")
        model = sm.MixedLM.from_formula("y ~ 0 + C(cell)", data=frame, groups="group", re_formula="0", vc_formula=vc)
        # tighter than statsmodels' defaults (gtol 1e-5, 100 iterations), which stop early on flat REML surfaces
        fit = model.fit(reml=True, method=["bfgs", "lbfgs"], maxiter=2_000, gtol=1e-9)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(f"statsmodels (item effects): {str(warning.message).splitlines()[0]}")
    notes.append(
        f"Crossed components: statsmodels MixedLM (REML, BFGS, gtol 1e-9), REML criterion {-2 * fit.llf:.4f}, "
        + ("converged." if fit.converged else "NOT converged.")
    )
    variance = {name: float(v) for name, v in zip(model.exog_vc.names, np.asarray(fit.vcomp), strict=True)}
    variance["residual"] = float(fit.scale)
    return {key: variance[key] for key in (*components, "residual")}, notes


def _subsample_workers(data: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    sizes = data.groupby("worker_id", observed=True).size()
    order = rng.permutation(len(sizes))
    cumulative = np.cumsum(sizes.to_numpy()[order])
    take = order[: max(2, int(np.searchsorted(cumulative, max_rows, side="right")))]
    chosen = sizes.index[take]
    return data[data["worker_id"].isin(chosen)]


def _cell_tests(cells: pd.MultiIndex, params: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """Wald chi-square tests of scene, genre and scene x genre on the complete grid of observed cells."""
    index = {cell: i for i, cell in enumerate(cells)}
    scenes = sorted(set(cells.get_level_values(0)))
    genres = sorted(set(cells.get_level_values(1)))
    # Contrasts need a complete grid: keep the genres observed with every scene.
    genres = [g for g in genres if all((s, g) in index for s in scenes)]
    complete_scenes = scenes if genres else []
    grid = np.array([[index[(s, g)] for g in genres] for s in complete_scenes])
    n_s, n_g = grid.shape if grid.size else (0, 0)
    rows: list[dict[str, object]] = []

    def wald(name: str, contrasts: list[np.ndarray]) -> None:
        if not contrasts:
            return
        matrix = np.vstack(contrasts)
        estimate = matrix @ params
        variance = matrix @ cov @ matrix.T
        statistic = float(estimate @ np.linalg.pinv(variance) @ estimate)
        df = int(np.linalg.matrix_rank(variance))
        rows.append({"effect": name, "chi2": statistic, "df": df, "p_value": float(stats.chi2.sf(statistic, df))})

    def row(values: dict[int, float]) -> np.ndarray:
        vector = np.zeros(len(params))
        for position, weight in values.items():
            vector[position] += weight
        return vector

    if n_s >= 2 and n_g >= 1:
        scene_contrasts = []
        for s in range(1, n_s):
            weights: dict[int, float] = {}
            for g in range(n_g):
                weights[grid[s, g]] = weights.get(grid[s, g], 0) + 1 / n_g
                weights[grid[0, g]] = weights.get(grid[0, g], 0) - 1 / n_g
            scene_contrasts.append(row(weights))
        wald("scene", scene_contrasts)
    if n_g >= 2 and n_s >= 1:
        genre_contrasts = []
        for g in range(1, n_g):
            weights = {}
            for s in range(n_s):
                weights[grid[s, g]] = weights.get(grid[s, g], 0) + 1 / n_s
                weights[grid[s, 0]] = weights.get(grid[s, 0], 0) - 1 / n_s
            genre_contrasts.append(row(weights))
        wald("genre", genre_contrasts)
    if n_s >= 2 and n_g >= 2:
        interaction = [
            row({grid[s, g]: 1, grid[s, 0]: -1, grid[0, g]: -1, grid[0, 0]: 1})
            for s in range(1, n_s)
            for g in range(1, n_g)
        ]
        wald("scene x genre", interaction)
    return pd.DataFrame(rows, columns=["effect", "chi2", "df", "p_value"])
