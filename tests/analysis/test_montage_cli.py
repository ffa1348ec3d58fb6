"""``python -m analysis montage`` and ``simulate --montage-workers`` (analysis/montage_cli.py)."""

from __future__ import annotations

import pandas as pd

from analysis.cli import main
from analysis.montage_cli import FIGURE_FILE, TABLE_FILES
from analysis.simulate import SimulationConfig, simulate, write_simulation

SIM = ["--videos", "4", "--songs", "3", "--genres", "2", "--ratings-per-pairing", "1", "--subjects", "0"]


def test_simulate_then_montage_prints_the_tables_and_writes_csvs_and_the_figure(tmp_path, capsys):
    export, models, out = tmp_path / "export", tmp_path / "models", tmp_path / "out"
    argv = ["simulate", "--out", str(export), *SIM, "--afc-trials", "0", "--montage-workers", "20"]
    argv += ["--montage-models-dir", str(models), "--montage-models", "a@1=0.8:0.6", "b@1=0.3:0.3", "c@2=0:0.1"]
    assert main(argv) == 0
    assert "montage study" in capsys.readouterr().out
    assert main(["montage", str(export), "--models-dir", str(models), "--out", str(out), "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    for heading in (
        "Preference for each model's montage",
        "Bradley-Terry ranking",
        "Montage ratings",
        "Retrieval metrics",
        "Does recall predict",
    ):
        assert heading in printed
    assert "only 3 models" in printed
    for name in TABLE_FILES.values():
        assert (out / name).exists()
    assert (out / FIGURE_FILE).read_bytes().startswith(b"\x89PNG")
    ranking = pd.read_csv(out / "montage_bradley_terry.csv")
    assert set(ranking["system"]) == {"G", "a@1", "b@1", "c@2", "R", "anti"}
    retrieval = pd.read_csv(out / "montage_retrieval.csv")
    assert set(retrieval["model"]) == {"a@1", "b@1", "c@2"} and (retrieval["status"] == "ok").all()


def test_an_export_without_montages_is_one_error_line_and_exit_2(tmp_path, capsys):
    config = SimulationConfig(videos=4, songs=3, genres=2, ratings_per_pairing=1, pref_subjects=0, afc_trials=0)
    write_simulation(simulate(config), tmp_path / "plain")
    assert main(["montage", str(tmp_path / "plain")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no montage judgments" in err
    assert main(["montage", str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_a_bad_simulated_model_spec_is_refused(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["simulate", "--out", str(tmp_path / "x"), "--montage-workers", "5", "--montage-models", "a@1"])
    assert "NAME@VERSION=STRENGTH:RECALL" in capsys.readouterr().err
