"""Power analysis by simulation: decide how many ratings or subjects a study needs before paying.

* ``cluster_recovery``: for each number of ratings per pairing, simulate studies from the crowd
  model, run the same cleaning + calibration + profile clustering as the report (cut at the planted
  number of clusters) and measure the adjusted Rand index against the planted clusters.
* ``preference_power``: for each number of subjects, the probability that the preference test
  detects a first-option share ``p_first`` (e.g. GS at 60 %) at level ``alpha``, both with the pooled
  exact binomial test (what VM-NET's table implies) and with the subject-level t-test (which honours
  differences between subjects). Subjects draw their own preference around ``p_first`` exactly as
  in the simulator (logit-normal, ``subject_sd``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import adjusted_rand_score
from tqdm.auto import tqdm

from analysis.calibration import zscore_by_worker
from analysis.cleaning import ExclusionRules, clean
from analysis.profiles import cluster_profiles, genre_profiles
from analysis.simulate import SimulationConfig, draw_subject_probabilities, simulate


def cluster_recovery(
    base: SimulationConfig,
    ratings_per_pairing: Sequence[int],
    *,
    reps: int = 10,
    linkage: str = "average",
    profile_value: str = "z",
    rules: ExclusionRules | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per (ratings_per_pairing, rep): ARI of recovered video and genre clusters."""
    rows = []
    jobs = [(k, rep) for k in ratings_per_pairing for rep in range(reps)]
    for k, rep in tqdm(jobs, desc="cluster recovery", unit="study", disable=not progress):
        config = replace(
            # The same seed for every k (common random numbers): replicate `rep` is the same planted
            # world rated more or less often, so the curve over k is not blurred by world-to-world luck.
            base,
            ratings_per_pairing=k,
            pref_subjects=0,
            afc_trials=0,
            seed=base.seed * 100_003 + rep,
        )
        simulation = simulate(config)
        cleaned = clean(simulation.ratings, simulation.choices.iloc[:0], rules).ratings
        cleaned = cleaned.assign(z=zscore_by_worker(cleaned))
        profiles, _, _ = genre_profiles(cleaned, value=profile_value)
        truth = simulation.truth
        planted_videos = pd.Series(truth["video_clusters"]["cluster"], index=truth["video_clusters"]["video_id"])
        planted_genres = pd.Series(truth["genre_clusters"]["cluster"], index=truth["genre_clusters"]["genre_label"])
        clustering = cluster_profiles(
            profiles,
            method=linkage,
            video_clusters=planted_videos.nunique(),
            genre_clusters=min(planted_genres.nunique(), profiles.shape[1] - 1),
        )
        rows.append(
            {
                "ratings_per_pairing": k,
                "rep": rep,
                "video_ari": adjusted_rand_score(planted_videos.loc[profiles.index], clustering.video_clusters),
                "genre_ari": adjusted_rand_score(
                    planted_genres.loc[profiles.columns], clustering.genre_clusters.loc[profiles.columns]
                ),
                "ratings": len(cleaned),
            }
        )
    return pd.DataFrame(rows)


def summarise_recovery(runs: pd.DataFrame, *, threshold: float = 0.9) -> pd.DataFrame:
    grouped = runs.groupby("ratings_per_pairing")
    return pd.DataFrame(
        {
            "mean_video_ari": grouped["video_ari"].mean(),
            "p10_video_ari": grouped["video_ari"].quantile(0.1),
            f"share_video_ari_ge_{threshold:g}": grouped["video_ari"].apply(lambda s: float((s >= threshold).mean())),
            "mean_genre_ari": grouped["genre_ari"].mean(),
            "reps": grouped.size(),
        }
    ).reset_index()


def binomial_two_sided_p(successes: np.ndarray, trials: int) -> np.ndarray:
    """Exact two-sided binomial p-values against 1/2 for many counts at once.

    Under p = 1/2 the distribution is symmetric, so the 'minimum likelihood' p-value (scipy's
    binomtest) equals twice the smaller tail, capped at 1.
    """
    k = np.asarray(successes)
    lower = stats.binom.cdf(k, trials, 0.5)
    upper = stats.binom.sf(k - 1, trials, 0.5)
    return np.minimum(1.0, 2 * np.minimum(lower, upper))


def preference_power(
    *,
    p_first: float,
    subjects: Sequence[int],
    questions: int = 40,
    subject_sd: float = 0.5,
    reps: int = 2_000,
    alpha: float = 0.05,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Power of the pooled binomial and the subject-level t-test, per number of subjects.

    ``questions`` is the number of answers per subject in the tested condition (VM-NET: 120
    questions over 3 conditions = 40 per condition).
    """
    if not 0 < p_first < 1:
        raise ValueError("p_first must lie strictly between 0 and 1")
    if questions < 1 or reps < 1:
        raise ValueError("questions and reps must be at least 1")
    rng = np.random.default_rng(seed)
    rows = []
    for n in tqdm(list(subjects), desc="preference power", unit="size", disable=not progress):
        if n < 2:
            raise ValueError("the subject-level test needs at least 2 subjects")
        probability = draw_subject_probabilities(rng, p_first, subject_sd, (reps, n))
        answers = rng.binomial(questions, probability)
        pooled = answers.sum(axis=1)
        p_binomial = binomial_two_sided_p(pooled, n * questions)
        shares = answers / questions
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            # Identical shares in a replicate (e.g. everyone 100 %) make scipy warn; p is then NaN -> 1.
            warnings.simplefilter("ignore", RuntimeWarning)
            p_t = stats.ttest_1samp(shares, 0.5, axis=1).pvalue
        # All subjects identical: t is infinite unless they sit exactly at 50 %.
        identical = shares.std(axis=1) == 0
        p_t = np.where(identical, np.where(shares[:, 0] == 0.5, 1.0, 0.0), p_t)
        rows.append(
            {
                "subjects": n,
                "answers": n * questions,
                "power_binomial": float((p_binomial <= alpha).mean()),
                "power_subject_t": float((p_t <= alpha).mean()),
                "mean_share": float(shares.mean()),
            }
        )
    return pd.DataFrame(rows)


def smallest_reaching(table: pd.DataFrame, column: str, target: float, by: str) -> int | None:
    reached = table.loc[table[column] >= target, by]
    return int(reached.min()) if len(reached) else None
