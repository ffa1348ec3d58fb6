from __future__ import annotations

import csv
import json

import pytest
import torch

from tests.training.fakes import planted_feature_export, standin_streams
from training.errors import TrainingInputError
from training.preference.pipeline import PreferenceRunConfig, evaluate_run, format_table, load_run, train_preference
from training.stats import accuracy


def _config(tmp_path, **overrides):
    settings = {"epochs": 40, "patience": 8, "batch_size": 32, "lr": 3e-3, **overrides}
    return PreferenceRunConfig(
        export=str(tmp_path / "export"), out=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"), **settings
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("preference")
    planted_feature_export(tmp_path / "export", n_videos=40, trials_per_video=6, p_rule=0.95, seed=1)
    summary = train_preference(_config(tmp_path), streams=standin_streams(), progress=False, log=lambda *_: None)
    return tmp_path, summary


def test_learns_a_planted_rule_on_held_out_videos(trained):
    _, summary = trained
    test = summary["test"]
    assert test["n"] > 0
    assert test["p_value_vs_chance"] < 0.01
    assert test["accuracy"] > 0.75


def test_run_directory_has_every_artefact(trained):
    tmp_path, summary = trained
    run = tmp_path / "run"
    for name in (
        "checkpoint.pt",
        "config.json",
        "split.json",
        "items.csv",
        "metrics.csv",
        "learning_curve.png",
        "summary.json",
        "report.html",
    ):
        assert (run / name).is_file(), name
    with open(run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["epochs_run"]
    assert rows[0].keys() >= {"epoch", "train_loss", "val_loss", "val_acc"}
    split = json.loads((run / "split.json").read_text())
    assert not set(split["videos"]["train"]) & set(split["videos"]["test"])
    with open(run / "items.csv") as handle:
        items = list(csv.DictReader(handle))
    assert {row["split"] for row in items} == {"train", "val", "test"}
    assert (run / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_round_trip_reproduces_the_test_accuracy(trained):
    tmp_path, summary = trained
    payload, model = load_run(tmp_path / "run")
    assert payload["format"] == "mvfit-preference"
    assert payload["split"]["indices"]["test"]
    label, result = evaluate_run(tmp_path / "run", streams=standin_streams(), progress=False)
    assert label == "Two-stream ResNet50"
    assert result.correct == summary["test"]["correct"]
    assert result.n == summary["test"]["n"]
    # The weights survive a save/load: identical outputs on the same input.
    _, again = load_run(tmp_path / "run")
    x, a, b = (
        torch.randn(2, model.config.query_dim),
        torch.randn(2, model.config.option_dim),
        torch.randn(2, model.config.option_dim),
    )
    torch.testing.assert_close(model.symmetric_probability(x, a, b), again.symmetric_probability(x, a, b))


def test_evaluation_refuses_different_extractors(trained):
    tmp_path, _ = trained
    streams = standin_streams()
    streams[0].extractor.version = 2
    with pytest.raises(TrainingInputError, match="differ"):
        evaluate_run(tmp_path / "run", streams=streams, progress=False)


def test_refuses_to_overwrite_a_run(trained):
    tmp_path, _ = trained
    with pytest.raises(TrainingInputError, match="already holds"):
        train_preference(_config(tmp_path), streams=standin_streams(), progress=False, log=lambda *_: None)


def test_same_seed_gives_the_same_run(tmp_path):
    planted_feature_export(tmp_path / "export", n_videos=12, trials_per_video=3, seed=2)
    config = _config(tmp_path, epochs=3)
    first = train_preference(config, streams=standin_streams(), progress=False, log=lambda *_: None)
    second_config = PreferenceRunConfig(**{**config.__dict__, "out": str(tmp_path / "run2")})
    second = train_preference(second_config, streams=standin_streams(), progress=False, log=lambda *_: None)
    assert first["test"] == second["test"]
    assert first["val_loss"] == second["val_loss"]


def test_table_prints_chance_next_to_each_model():
    table = format_table([("Two-stream ResNet50", accuracy(532, 1000)), ("I3D", accuracy(559, 1000))])
    lines = table.splitlines()
    assert lines[1].startswith("Random guessing") and "50 %" in lines[1]
    assert "53.2 ± 3.1 %" in lines[2]
    assert lines[-1] == "Random 50 %; Two-stream 53.2 ± 3.1 %; I3D 55.9 ± 3.1 %"


def test_m2v_direction_trains_the_mirrored_model(tmp_path):
    planted_feature_export(tmp_path / "export", n_videos=30, trials_per_video=1, m2v_trials=4, seed=4)
    summary = train_preference(
        _config(tmp_path, direction="M2V", epochs=5), streams=standin_streams(), progress=False, log=lambda *_: None
    )
    payload, model = load_run(tmp_path / "run")
    # Query = excerpt (audio stand-in, 6-D), options = clips (video stand-in, 8-D).
    assert (model.config.query_dim, model.config.option_dim) == (6, 8)
    assert summary["direction"] == "M2V"
    split = payload["split"]
    kept = sum(len(v) for v in split["indices"].values())
    assert kept + len(split["dropped"]) == 30 * 4
