"""The report and the command line: complete on a full export, graceful on partial and tiny ones."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.report import Context, ReportOptions, Section, Writer, build_report
from analysis.simulate import SimulationConfig, simulate, write_simulation
from exportformat import write_export
from tests.factories.analysis import RatingRowFactory, ratings_frame

FAST = {"split_half_splits": 20, "progress": False}


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    config = SimulationConfig(
        videos=30, songs=15, genres=5, ratings_per_pairing=3, pref_subjects=12, afc_trials=400, seed=2
    )
    write_simulation(simulate(config), root / "export", machine_distances=True)
    options = ReportOptions(machine_distances=root / "export" / "machine_distances.csv", **FAST)
    return build_report(root / "export", root / "out", options), root / "out"


def test_full_report_has_every_section_figure_and_table(full_report):
    result, out = full_report
    # A simulated export has no participant-level tables: only that section is skipped.
    assert set(result.skipped) == {"participants"}
    expected = {
        "rating_overview",
        "mixed_cell_means",
        "loo_correlation",
        "genre_fit_clustermap",
        "cluster_profiles",
        "preference_shares",
        "preference_boxplot",
        "bt_v2m_items",
        "bt_v2m_by_scene",
    }
    assert expected <= set(result.figures)
    for path in result.figures.values():
        assert path.read_bytes().startswith(b"\x89PNG")
    for name in ("exclusions", "icc", "reliability", "video_clusters", "genre_clusters", "preference_shares"):
        assert (out / "tables" / f"{name}.csv").exists()


def test_preference_section_shows_the_gee_headline_subject_tests_and_the_labelled_pooled_test(full_report):
    result, out = full_report
    table = pd.read_csv(out / "tables" / "preference_shares.csv")
    for column in ("share", "ci_low", "ci_high", "p_gee", "p_holm", "rho", "p_t", "p_wilcoxon", "pooled_share"):
        assert column in table.columns
    human = table[table["subject"] == "Human"]
    machine = table[table["subject"] == "Machine"]
    assert len(human) == 9 and human["method"].str.startswith("GEE").all()
    assert len(machine) == 9 and machine["method"].str.contains("distinct comparisons").all()
    assert human["p_pooled_binomial"].notna().all()
    summary = json.loads((out / "summary.json").read_text())
    headline = {(r["condition"], r["direction"]): r for r in summary["preference_clustered"]}
    shown = {(r["condition"], r["direction"]): r for r in summary["preference"] if r["subject"] == "Human"}
    assert all(shown[key]["share"] == pytest.approx(row["share"]) for key, row in headline.items())
    page = result.html.read_text()
    assert "GEE" in page and "pooled_share" in page and "Holm" in page
    assert "REML criterion" in page and "attentive dropped" in page
    recovery = (out / "tables" / "simulation_recovery.csv").read_text()
    assert "GEE headline share vs population share" in recovery


def test_the_html_is_self_contained(full_report):
    result, _ = full_report
    page = result.html.read_text()
    assert page.count("data:image/png;base64,") == len(result.figures)
    assert not re.search(r'src="(?!data:)', page)  # nothing loaded from elsewhere
    for heading in ("Data provenance", "Exclusions", "Reliability", "Table IV, reproduced", "Bradley-Terry"):
        assert heading in page
    assert "mvfit simulator" in page and "simulation seed" in page


def test_summary_reports_recovery_of_the_simulation(full_report):
    _, out = full_report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["simulated"] is True
    assert summary["profiles"]["video_clusters"] >= 2
    machine = [row for row in summary["preference"] if row["subject"] == "Machine"]
    assert machine and all(0 <= row["share"] <= 1 for row in machine if row["n"])
    recovery = (out / "tables" / "simulation_recovery.csv").read_text()
    assert "video clusters, adjusted Rand index" in recovery


def test_ratings_only_export_skips_the_choice_sections_with_notes(tmp_path):
    config = SimulationConfig(videos=10, songs=6, genres=3, pref_subjects=0, afc_trials=0)
    write_simulation(simulate(config), tmp_path / "export")
    result = build_report(tmp_path / "export", tmp_path / "out", ReportOptions(**FAST))
    assert set(result.skipped) == {"participants", "preference test", "2AFC ceiling", "bradley-terry"}
    page = result.html.read_text()
    assert "Skipped: no preference-test trials" in page and "Skipped: no plain 2AFC trials" in page


def test_choices_only_export_skips_the_rating_sections(tmp_path):
    config = SimulationConfig(pref_subjects=6, pref_questions=12, pref_items=20, afc_trials=100)
    write_simulation(simulate(config, ratings=False), tmp_path / "export")
    result = build_report(tmp_path / "export", tmp_path / "out", ReportOptions(**FAST))
    assert {"ratings", "mixed model", "reliability", "profiles"} <= set(result.skipped)
    assert "preference_boxplot" in result.figures and "bt_v2m_items" in result.figures


def test_a_handful_of_rows_gives_a_report_full_of_notes_not_a_crash(tmp_path):
    rows = [RatingRowFactory(rating=r, video_id=v) for r, v in ((3, 1), (5, 2), (6, 1))]
    write_export(
        tmp_path / "export",
        tables={"ratings": ratings_frame(rows)},
        provenance={"source": "test", "experiments": [], "exported_at": "2026-11-22T21:03:04.123Z"},
        parquet=False,
    )
    result = build_report(tmp_path / "export", tmp_path / "out", ReportOptions(**FAST))
    assert "mixed model" in result.skipped and "profiles" in result.skipped
    assert all(not reason.startswith("error") for reason in result.skipped.values())
    assert "rating_overview" in result.figures
    assert "3 ratings" in result.html.read_text()


def test_cli_simulate_then_report(tmp_path, capsys):
    assert main(f"simulate --videos 8 --songs 6 --genres 3 --subjects 4 --out {tmp_path / 'e'}".split()) == 0
    assert "wrote" in capsys.readouterr().out
    code = main(f"report {tmp_path / 'e'} --out {tmp_path / 'r'} --quiet --splits 10 --max-catch-fail-rate off".split())
    assert code == 0
    assert (tmp_path / "r" / "report.html").exists()
    assert "report:" in capsys.readouterr().out


def test_cli_errors_are_messages_and_exit_code_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "not a directory" in capsys.readouterr().err
    main(f"simulate --videos 3 --songs 3 --genres 3 --subjects 0 --afc-trials 0 --out {tmp_path / 'e'}".split())
    assert main(["report", str(tmp_path / "e"), "--out", str(tmp_path / "r"), "--max-catch-fail-rate", "2"]) == 2
    assert "share between 0 and 1" in capsys.readouterr().err


def test_python_dash_m_analysis_runs():
    done = subprocess.run([sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "report" in done.stdout and "simulate" in done.stdout and "power" in done.stdout


def test_power_cli_answers_the_preference_question(tmp_path, capsys):
    code = main(f"power preference --p-first 0.6 --subjects 10 40 --reps 300 --quiet --out {tmp_path}".split())
    assert code == 0
    out = capsys.readouterr().out
    assert "subject-level t-test:" in out and "pooled binomial test:" in out
    assert (tmp_path / "preference_power.csv").exists() and (tmp_path / "preference_power.png").exists()


def test_analysis_never_imports_django_or_the_platform():
    import ast

    package = Path(__file__).resolve().parents[2] / "analysis"
    forbidden = ("django", "rest_framework", "webapp", "annotation", "mturk", "celery")
    for file in package.glob("*.py"):
        tree = ast.parse(file.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] in forbidden], file.name


# What the report carried before it became a package of steps (the f-string report.py of main at
# 0cfef3d on this simulated export): the split must keep every section, figure and table.
BEFORE_THE_SPLIT = [
    ("provenance", "Data provenance", [], []),
    ("participants", "Participants", [], []),  # added after the split (skipped: no participants table)
    ("exclusions", "Exclusions", [], ["exclusions", "worker_flags"]),
    ("ratings", "Fit ratings: overview and calibration", ["rating_overview"], []),
    (
        "mixed",
        "Mixed model: scene x genre with worker random intercepts",
        ["mixed_cell_means"],
        ["mixed_variance", "mixed_tests", "mixed_cell_means"],
    ),
    ("reliability", "Reliability", ["loo_correlation"], ["reliability", "icc", "loo_worker_correlation"]),
    (
        "profiles",
        "Genre-fit profiles and clustering (Langlois Figs. 2-3)",
        ["genre_fit_clustermap", "cluster_profiles"],
        ["video_clusters", "genre_clusters", "cluster_silhouettes"],
    ),
    (
        "preference",
        "Preference test (VM-NET Table IV, Fig. 7)",
        ["preference_shares", "preference_boxplot"],
        ["preference_shares", "preference_subject_tests"],
    ),
    (
        "bradley_terry",
        "Two-alternative forced choice: Bradley-Terry strengths",
        ["bt_v2m_items", "bt_v2m_by_scene"],
        ["bt_v2m_items", "bt_v2m_by_scene"],
    ),
    ("simulation", "Simulated export: planted vs recovered structure", [], ["simulation_recovery"]),
]


def test_the_report_keeps_every_section_figure_and_table_it_had_before_the_split(full_report):
    result, out = full_report
    # Steps added since the split (e.g. the 2AFC ceiling) are tested on their own.
    before = {key for key, *_ in BEFORE_THE_SPLIT}
    added = [s for s in result.sections if s.key not in before]
    shown = [
        (s.key, s.title, [f.removeprefix("figures/").removesuffix(".png") for f in s.figures], s.tables)
        for s in result.sections
        if s.key in before
    ]
    expected = [
        (key, title, figs, [f"tables/{t}.csv" for t in tables]) for key, title, figs, tables in BEFORE_THE_SPLIT
    ]
    assert shown == expected
    page = result.html.read_text()
    added_titles = {s.title for s in added}
    headings = [h for h in re.findall(r"<h2>(.*?)</h2>", page) if h not in added_titles]
    assert headings == [title for _, title, _, _ in BEFORE_THE_SPLIT]
    for _, _, figs, _ in BEFORE_THE_SPLIT:
        for name in figs:
            assert f'id="fig-{name}"' in page and (out / "figures" / f"{name}.png").exists()
    added_tables = {t.removeprefix("tables/").removesuffix(".csv") for s in added for t in s.tables}
    assert {"genre_profiles"} | {t for *_, tables in BEFORE_THE_SPLIT for t in tables} == set(
        result.tables
    ) - added_tables
    assert (out / "tables" / "preference_per_subject.csv").exists()
    assert (out / "tables" / "bt_v2m_items_by_scene.csv").exists()


def test_the_package_names_resolve_on_first_use_and_only_those():
    import analysis.report as report

    assert sorted(report.__all__) == sorted(report._HOMES)
    for name in report.__all__:
        assert getattr(report, name) is getattr(importlib.import_module(f"analysis.report.{report._HOMES[name]}"), name)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        report.nope  # noqa: B018


def test_the_stylesheet_is_embedded_verbatim_so_its_csp_hash_matches(full_report):
    from analysis.report import CSS

    assert f"<style>{CSS}</style>" in full_report[0].html.read_text()


def _planted_step(ctx: Context, w: Writer, section: Section) -> None:
    import matplotlib.pyplot as plt

    section.notes.append("<script>alert('note')</script>")
    section.text("<b>trusted</b> paragraph")
    w.table(section, "planted", pd.DataFrame({"label": ["<img src=x onerror=alert(1)>"]}), caption="<i>cap</i>")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    w.figure(section, "planted", figure, 'caption with "quotes" & <tags>')


def test_a_registered_step_is_rendered_and_everything_it_reports_is_escaped(tmp_path):
    from analysis.report import STEPS, Step

    write_export(
        tmp_path / "export",
        tables={"ratings": ratings_frame(RatingRowFactory.build_batch(6))},
        provenance={"source": "test", "experiments": [], "exported_at": "2026-11-22T21:03:04.123Z"},
        parquet=False,
    )
    step = Step(name="planted", key="planted", title="Planted <step>", run=_planted_step)
    first = [s for s in STEPS if s.name in ("provenance", "exclusions")]
    result = build_report(tmp_path / "export", tmp_path / "out", ReportOptions(**FAST), steps=[*first, step])
    page = result.html.read_text()
    assert [s.key for s in result.sections] == ["provenance", "exclusions", "planted"]
    assert "<h2>Planted &lt;step&gt;</h2>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<i>cap</i>" not in page
    assert "<p><b>trusted</b> paragraph</p>" in page
    assert 'alt="caption with &#34;quotes&#34; &amp; &lt;tags&gt;"' in page
    assert (tmp_path / "out" / "figures" / "planted.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "out" / "tables" / "planted.csv").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"clustermap_max_videos": 1}, "clustermap_max_videos must be at least 2"),
        ({"split_half_splits": 0}, "split_half_splits must be at least 1"),
        ({"linkage": "centroid"}, "linkage must be one of"),
    ],
)
def test_report_options_refuse_values_the_steps_cannot_use(option, message):
    with pytest.raises(ValueError, match=message):
        ReportOptions(**option)


def test_the_2afc_ceiling_section_shows_the_ceiling_next_to_the_machine(full_report):
    result, out = full_report
    [section] = [s for s in result.sections if s.key == "ceiling"]
    assert section.title == "2AFC agreement and noise ceiling"
    assert section.tables == ["tables/agreement.csv", "tables/ceiling_vs_models.csv"]
    assert (out / "figures" / "ceiling_vs_models.png").read_bytes().startswith(b"\x89PNG")
    comparison = pd.read_csv(out / "tables" / "ceiling_vs_models.csv")
    assert set(comparison["model"]) == {"Machine"}
    # A group nobody answered twice has no ceiling (NaN); the others lie between chance and 1.
    assert comparison["ceiling"].dropna().between(0.5, 1).all() and comparison["accuracy"].between(0, 1).all()
    assert comparison.set_index("group")["ceiling"].notna()["all"]
    summary = json.loads((out / "summary.json").read_text())
    assert {row["group"] for row in summary["ceiling_vs_models"]} == set(comparison["group"])


def test_the_montage_section_appears_with_a_montage_study_and_is_silent_otherwise(tmp_path, full_report):
    from analysis.report.steps import montages
    from analysis.simulate import MontageConfig

    result, _ = full_report
    assert "montages" in result.summary["omitted"] and "montages" not in result.skipped
    assert all(section.key != "montages" for section in result.sections)
    assert "Montages" not in result.html.read_text()

    config = SimulationConfig(videos=4, songs=3, genres=2, ratings_per_pairing=1, pref_subjects=0, afc_trials=0)
    write_simulation(simulate(config, montage=MontageConfig(workers=15)), tmp_path / "export")
    options = ReportOptions(montage_bootstrap=50, **FAST)
    with_montages = build_report(tmp_path / "export", tmp_path / "out", options, steps=[montages.STEP])
    (section,) = with_montages.sections
    assert section.key == "montages" and "montages" in with_montages.figures
    assert {"tables/montage_bradley_terry.csv", "tables/montage_preferences.csv"} <= set(section.tables)
    page = with_montages.html.read_text()
    assert "Montages: the crowd judges machine soundtracks" in page and "seg-vmnet@1" in page
    assert with_montages.summary["montages"]["counts"]["judgments"] > 0
