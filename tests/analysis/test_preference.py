"""The preference test: Table IV shares, intervals, tests, subject level, and the machine row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special, stats
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.stats.multitest import multipletests

from analysis.preference import (
    CLUSTERED_COLUMNS,
    binomial_p_value,
    clustered_share_table,
    gee_intercept,
    gee_share,
    load_machine_distances,
    machine_share_table,
    null_rejection_rates,
    preference_trials,
    share_table,
    subject_shares,
    subject_tests,
    table_iv,
)
from tests.factories.analysis import ChoiceRowFactory, choices_frame


def test_binomial_p_value_by_hand():
    # P(X >= 9) under Bin(10, 1/2) = 11/1024; two-sided doubles it.
    assert binomial_p_value(9, 10) == pytest.approx(22 / 1024)
    assert binomial_p_value(5, 10) == 1.0


def preference_rows(worker: str, condition: str, direction: str, firsts: list[bool], start: int = 0):
    first_kind, second_kind = condition[0], condition[1]
    rows = []
    for i, first in enumerate(firsts):
        left_first = i % 2 == 0  # alternate sides; the kind decides, not the side
        rows.append(
            ChoiceRowFactory(
                worker_id=worker,
                condition=condition,
                direction=direction,
                query_id=start + i,
                left_kind=first_kind if left_first else second_kind,
                right_kind=second_kind if left_first else first_kind,
                chosen_side=("left" if left_first == first else "right"),
            )
        )
    return rows


def test_share_table_counts_first_option_preferences_per_condition_and_direction():
    rows = preference_rows("Wa", "GR", "V2M", [True, True, True, False])
    rows += preference_rows("Wa", "GR", "M2V", [True, False], start=100)
    rows += preference_rows("Wa", "SR", "V2M", [False, False, True], start=200)
    rows.append(ChoiceRowFactory(worker_id="Wa", condition="GR", is_catch=True, catch_passed=True, query_id=999))
    trials = preference_trials(choices_frame(rows))
    table = share_table(trials).set_index(["condition", "direction"])
    assert table.loc[("GR", "V2M"), ["n", "k"]].tolist() == [4, 3]
    assert table.loc[("GR", "M2V"), ["n", "k"]].tolist() == [2, 1]
    assert table.loc[("GR", "total"), ["n", "k"]].tolist() == [6, 4]
    assert table.loc[("SR", "V2M"), "share"] == pytest.approx(1 / 3)
    assert table.loc[("GS", "total"), "n"] == 0 and np.isnan(table.loc[("GS", "total"), "share"])
    assert table.loc[("GR", "V2M"), "p_binomial"] == pytest.approx(binomial_p_value(3, 4))
    wide = table_iv(share_table(trials))
    assert list(wide.columns) == ["V2M", "M2V", "total"]
    assert wide.loc[("Human", "GR"), "V2M"].startswith("75.00 [")


def test_subject_level_t_test_by_hand():
    rows = []
    for worker, share in (("Wa", [1] * 6 + [0] * 4), ("Wb", [1] * 8 + [0] * 2), ("Wc", [1] * 7 + [0] * 3)):
        rows += preference_rows(worker, "GS", "V2M", [bool(x) for x in share])
    per_subject = subject_shares(preference_trials(choices_frame(rows)))
    tests = subject_tests(per_subject).set_index(["condition", "direction"])
    row = tests.loc[("GS", "V2M")]
    # shares 0.6, 0.8, 0.7: mean 0.7, SD 0.1, t = 0.2 / (0.1 / sqrt 3)
    assert row["subjects"] == 3 and row["mean_share"] == pytest.approx(0.7)
    assert row["t"] == pytest.approx(0.2 / (0.1 / np.sqrt(3)))


def machine_file(tmp_path, text):
    path = tmp_path / "machine.csv"
    path.write_text(text)
    return path


def test_machine_prefers_the_option_closer_to_the_query(tmp_path):
    rows = [
        # V2M: query clip 11, G excerpt 21 (d 0.2) vs R excerpt 22 (d 0.5): machine prefers G.
        ChoiceRowFactory(
            direction="V2M", condition="GR", query_id=11, left_id=22, left_kind="R", right_id=21, right_kind="G"
        ),
        # M2V: query excerpt 21, G clip 11 (d 0.2) vs R clip 12 (d 0.1): machine prefers R.
        ChoiceRowFactory(
            direction="M2V", condition="GR", query_id=21, left_id=11, left_kind="G", right_id=12, right_kind="R"
        ),
        # Same V2M question seen by another subject: counted once.
        ChoiceRowFactory(
            worker_id="Wother",
            direction="V2M",
            condition="GR",
            query_id=11,
            left_id=22,
            left_kind="R",
            right_id=21,
            right_kind="G",
        ),
        # Missing distance for excerpt 23: skipped.
        ChoiceRowFactory(
            direction="V2M", condition="SR", query_id=11, left_id=23, left_kind="S", right_id=22, right_kind="R"
        ),
    ]
    distances = load_machine_distances(
        machine_file(tmp_path, "clip_id,excerpt_id,distance\n11,21,0.2\n11,22,0.5\n12,21,0.1\n")
    )
    table, notes = machine_share_table(preference_trials(choices_frame(rows)), distances)
    table = table.set_index(["condition", "direction"])
    assert table.loc[("GR", "V2M"), ["n", "k"]].tolist() == [1, 1]
    assert table.loc[("GR", "M2V"), ["n", "k"]].tolist() == [1, 0]
    assert table.loc[("GR", "total"), "share"] == 0.5
    assert (table["subject"] == "Machine").all()
    assert notes == ["Machine: 1 question(s) without distances for both options were skipped."]


def test_several_models_give_several_machine_rows(tmp_path):
    rows = [
        ChoiceRowFactory(
            direction="V2M", condition="GR", query_id=11, left_id=21, left_kind="G", right_id=22, right_kind="R"
        )
    ]
    distances = load_machine_distances(
        machine_file(tmp_path, "model,clip_id,excerpt_id,distance\nA,11,21,1\nA,11,22,2\nB,11,21,3\nB,11,22,2\n")
    )
    table, _ = machine_share_table(preference_trials(choices_frame(rows)), distances)
    shares = table[table["direction"] == "V2M"].set_index(["subject", "condition"])["share"]
    assert shares.loc[("A", "GR")] == 1.0 and shares.loc[("B", "GR")] == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clip,excerpt_id,distance\n1,2,0.5\n", "missing column"),
        ("clip_id,excerpt_id,distance\n1,2,0.5\n1,2,0.6\n", "duplicate"),
        ("clip_id,excerpt_id,distance\n1,2,\n", "without a distance"),
        ("clip_id,excerpt_id,distance\nx,2,0.5\n", "must be integers"),
    ],
)
def test_bad_machine_files_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_machine_distances(machine_file(tmp_path, text))


def test_plain_2afc_and_catch_trials_are_not_preference_trials():
    rows = [
        ChoiceRowFactory(condition="none", left_kind=None, right_kind=None),
        ChoiceRowFactory(condition="GR", is_catch=True, catch_passed=True),
        ChoiceRowFactory(condition="GS", query_id=5, left_kind="G", right_kind="S"),
    ]
    trials = preference_trials(choices_frame(rows))
    assert list(trials["condition"]) == ["GS"] and trials["first"].tolist() == [True]
    assert isinstance(trials, pd.DataFrame)


def test_a_question_shown_again_with_sides_swapped_is_one_machine_comparison(tmp_path):
    def gs(worker, left_id, right_id, left_kind, right_kind, query_id=11):
        return ChoiceRowFactory(
            worker_id=worker,
            direction="V2M",
            condition="GS",
            query_id=query_id,
            left_id=left_id,
            left_kind=left_kind,
            right_id=right_id,
            right_kind=right_kind,
        )

    rows = [
        gs("Wa", 21, 22, "G", "S"),
        gs("Wa", 22, 21, "S", "G"),  # the same comparison, sides swapped (a retest)
        gs("Wb", 22, 21, "S", "G"),
        gs("Wb", 21, 23, "G", "S", query_id=12),  # a different comparison
    ]
    distances = load_machine_distances(
        machine_file(tmp_path, "clip_id,excerpt_id,distance\n11,21,0.2\n11,22,0.5\n12,21,0.4\n12,23,0.1\n")
    )
    table, notes = machine_share_table(preference_trials(choices_frame(rows)), distances)
    cell = table.set_index(["condition", "direction"]).loc[("GS", "V2M")]
    assert cell[["n", "k"]].tolist() == [2, 1] and notes == []


# ------------------------------------------------------------------------------------------- clustered


def clustered_trials(rng, subjects=12, answers=(6, 20), p_first=0.65, subject_sd=0.8):
    rows = []
    for s in range(subjects):
        p = special.expit(special.logit(p_first) + rng.normal(0, subject_sd))
        for condition in ("GR", "GS", "SR"):
            for direction in ("V2M", "M2V"):
                n = int(rng.integers(*answers))
                rows.append(
                    pd.DataFrame(
                        {
                            "worker_id": f"W{s:016x}",
                            "condition": condition,
                            "direction": direction,
                            "first": rng.random(n) < p,
                        }
                    )
                )
    return pd.concat(rows, ignore_index=True)


def statsmodels_gee(y, groups):
    model = sm.GEE(
        np.asarray(y, dtype=float),
        np.ones((len(y), 1)),
        groups=pd.factorize(groups)[0],
        family=sm.families.Binomial(),
        cov_struct=Exchangeable(),
    )
    fit = model.fit()
    return float(fit.params[0]), float(fit.bse[0]), float(model.cov_struct.dep_params)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_gee_equals_statsmodels(seed):
    rng = np.random.default_rng(seed)
    studies = []
    for _ in range(3):
        sizes = rng.integers(3, 40, size=9)  # unequal sizes make rho matter
        p = special.expit(rng.normal(0.2, 0.8, size=9))
        studies.append((sizes, rng.binomial(sizes, p)))
    logit, se, rho = gee_intercept(np.array([s for _, s in studies]), np.array([n for n, _ in studies]))
    for i, (sizes, successes) in enumerate(studies):
        y = np.concatenate([np.r_[np.ones(k), np.zeros(n - k)] for n, k in zip(sizes, successes, strict=True)])
        groups = np.repeat(np.arange(len(sizes)), sizes)
        ref_logit, ref_se, ref_rho = statsmodels_gee(y, groups)
        assert logit[i] == pytest.approx(ref_logit, rel=1e-6)
        assert se[i] == pytest.approx(ref_se, rel=1e-6)
        assert rho[i] == pytest.approx(ref_rho, rel=1e-5, abs=1e-8)


def test_headline_is_the_gee_with_holm_across_the_table_and_the_pooled_test_is_labelled():
    trials = clustered_trials(np.random.default_rng(4))
    table = clustered_share_table(trials)
    assert tuple(table.columns) == CLUSTERED_COLUMNS and len(table) == 9
    assert table["method"].str.startswith("GEE").all()
    cell = table.set_index(["condition", "direction"]).loc[("GS", "V2M")]
    data = trials[(trials["condition"] == "GS") & (trials["direction"] == "V2M")]
    logit, se, rho = statsmodels_gee(data["first"], data["worker_id"])
    q = stats.t.ppf(0.975, 11)  # 12 subjects
    assert cell["share"] == pytest.approx(special.expit(logit))
    assert cell["ci_low"] == pytest.approx(special.expit(logit - q * se))
    assert cell["p_gee"] == pytest.approx(2 * stats.t.sf(abs(logit / se), 11))
    assert cell["rho"] == pytest.approx(rho)
    # total pools both directions, still clustered by subject
    total = trials[trials["condition"] == "GS"]
    assert table.set_index(["condition", "direction"]).loc[("GS", "total"), "share"] == pytest.approx(
        special.expit(statsmodels_gee(total["first"], total["worker_id"])[0])
    )
    assert table["p_holm"].to_numpy() == pytest.approx(multipletests(table["p_gee"], method="holm")[1])
    assert (table["p_holm"] >= table["p_gee"]).all()
    pooled = share_table(trials).set_index(["condition", "direction"])
    indexed = table.set_index(["condition", "direction"])
    assert indexed["pooled_share"].to_numpy() == pytest.approx(pooled["share"].to_numpy())
    assert indexed["p_pooled_binomial"].to_numpy() == pytest.approx(pooled["p_binomial"].to_numpy())
    # the robust interval is wider than the pooled Wilson one when subjects differ
    assert (indexed["ci_high"] - indexed["ci_low"] > indexed["pooled_ci_high"] - indexed["pooled_ci_low"]).all()


def test_unanimous_or_single_subject_cells_give_a_share_without_a_test():
    one = gee_share(np.array([True, False, True]), np.array(["Wa"] * 3))
    assert one["share"] == pytest.approx(2 / 3) and np.isnan(one["p_gee"]) and np.isnan(one["ci_low"])
    unanimous = gee_share(np.ones(6, dtype=bool), np.array(["Wa", "Wb"] * 3))
    assert unanimous["share"] == 1.0 and np.isnan(unanimous["p_gee"])


def test_headline_test_holds_its_level_in_null_studies_with_subject_heterogeneity():
    # 1,000 null studies, 53 subjects x 40 answers, subject SD 0.5 on the logit scale (issue 13, finding 1).
    rates = null_rejection_rates(studies=1_000, subjects=53, answers=40, subject_sd=0.5, alpha=0.05, seed=0)
    assert 0.03 <= rates["gee"] <= 0.08
    assert 0.03 <= rates["subject_t"] <= 0.08
    assert rates["pooled_binomial"] > 0.18  # the naive test is anti-conservative (about 26 %)


def test_null_rejection_rates_without_subject_differences_agree():
    rates = null_rejection_rates(studies=1_000, subjects=30, answers=40, subject_sd=0.0, seed=1)
    assert all(0.03 <= rate <= 0.08 for rate in rates.values())
