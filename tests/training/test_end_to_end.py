"""The whole pipeline on real (tiny) media with the real backbones, through the CLI.

The data set (training/synthetic.py) plants one audio-visual rule: raters prefer the fast,
high-pitched track for a panning video and the slow, low one for a still video; textures are
random for both kinds, so only motion and audio carry the answer. The backbones are randomly
initialised (no weights files in CI): random convolutional features still separate zero from non-zero
optical flow and low from high tones, so the rule is learnable and must beat chance on videos the
model never saw (exact binomial test, p < 0.01).
"""

from __future__ import annotations

import csv
import json

import pytest
from scipy.stats import binomtest

from training.cli import main
from training.synthetic import PlantedRule, make_planted_export

pytestmark = pytest.mark.slow

SMALL_BACKBONES = ["--random-init", "--frame-size", "64", "--rgb-fps", "1", "--flow-method", "farneback"]
FAST_HEAD = ["--batch-size", "32", "--lr", "3e-3", "--epochs", "60", "--quiet"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    make_planted_export(
        root / "export", PlantedRule(n_videos=30, n_tracks=8, trials_per_video=8, size=64), progress=False
    )
    return root


def _train(workspace, variant: str):
    run = workspace / f"run-{variant}"
    if not (run / "checkpoint.pt").exists():
        status = main(
            ["train-preference", "--export", str(workspace / "export"), "--out", str(run), "--variant", variant,
             "--cache-dir", str(workspace / "cache"), *SMALL_BACKBONES, *FAST_HEAD]
        )  # fmt: skip
        assert status == 0
    return run, json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("variant", ["two-stream", "i3d"])
def test_planted_rule_is_learnt_above_chance_on_held_out_videos(workspace, variant, capsys):
    run, summary = _train(workspace, variant)
    test = summary["test"]
    split = json.loads((run / "split.json").read_text())
    assert not set(split["videos"]["test"]) & (set(split["videos"]["train"]) | set(split["videos"]["val"]))
    assert test["n"] >= 20
    assert binomtest(test["correct"], test["n"], 0.5, alternative="greater").pvalue < 0.01
    assert "Random guessing" in capsys.readouterr().out


def test_evaluate_reproduces_both_runs_in_table_1_format(workspace, capsys):
    (two_run, two), (i3d_run, i3d) = _train(workspace, "two-stream"), _train(workspace, "i3d")
    capsys.readouterr()
    assert main(["evaluate-preference", "--run", str(two_run), "--run", str(i3d_run), "--quiet"]) == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    expected = [f"{100 * s['test']['accuracy']:.1f} ±" for s in (two, i3d)]
    assert last_line.startswith("Random 50 %; Two-stream " + expected[0])
    assert "; I3D " + expected[1] in last_line


def test_retrieval_from_chosen_pairs_and_rankings_file(workspace, capsys):
    run = workspace / "retrieval"
    status = main(
        ["train-retrieval", "--export", str(workspace / "export"), "--out", str(run), "--pairs", "chosen",
         "--cache-dir", str(workspace / "cache"), "--video-layers", "64", "32", "--music-layers", "64", "64", "32",
         "--top-k", "10", "--epochs", "40", "--lr", "3e-3", "--batch-size", "64", "--quiet", *SMALL_BACKBONES]
    )  # fmt: skip
    assert status == 0
    assert "music→video" in capsys.readouterr().out
    rankings = workspace / "rankings.csv"
    assert main(["rank", "--run", str(run), "--out", str(rankings), "--top", "3", "--quiet"]) == 0
    with open(rankings, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["query_kind"] for r in rows} == {"clip", "excerpt"}
    assert len([r for r in rows if r["query_kind"] == "clip"]) == 30 * 3
    assert len([r for r in rows if r["query_kind"] == "excerpt"]) == 8 * 3
    # The planted rule shows up in the rankings: most clips' best excerpt is of the matching kind
    # (odd ids are moving clips / fast-high excerpts, see training/synthetic.py).
    top = [r for r in rows if r["query_kind"] == "clip" and r["rank"] == "1"]
    matching = sum(int(r["query_id"]) % 2 == int(r["candidate_id"]) % 2 for r in top)
    assert matching >= 0.8 * len(top)


def test_fine_tuning_through_the_cli_then_evaluate(workspace, capsys):
    run = workspace / "fine-tuned"
    status = main(
        ["train-preference", "--export", str(workspace / "export"), "--out", str(run), "--variant", "two-stream",
         "--cache-dir", str(workspace / "cache"), *SMALL_BACKBONES, "--fine-tune", "--train-from", "layer4",
         "--epochs", "2", "--batch-size", "16", "--workers", "0", "--device", "cpu", "--quiet"]
    )  # fmt: skip
    assert status == 0
    summary = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert summary["fine_tune"]["train_from"] == "layer4" and summary["epochs_run"] == 2
    assert config["backbones"]["flow_encoding"] == "stack"  # the seed's replicated stem when fine-tuning
    assert (run / "train_state.pt").exists() and (run / "learning_curve.png").exists()
    assert "(fine-tuned)" in capsys.readouterr().out
    assert main(["evaluate-preference", "--run", str(run), "--quiet", "--device", "cpu"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"{100 * summary['test']['accuracy']:.1f} ±" in line


def test_cli_errors_are_one_line_and_exit_2(workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MVFIT_RESNET50_WEIGHTS", raising=False)
    assert main(["train-preference", "--export", str(workspace / "export"), "--out", str(tmp_path / "r")]) == 2
    assert "no ResNet-50 weights configured" in capsys.readouterr().err
    assert (
        main(["train-preference", "--export", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), "--random-init"])
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert (
        main(
            [
                "train-preference",
                "--export",
                str(workspace / "export"),
                "--out",
                str(tmp_path / "r"),
                "--resume",
                *SMALL_BACKBONES,
            ]
        )
        == 2
    )
    assert "--resume continues a fine-tuning run" in capsys.readouterr().err
    not_weights = tmp_path / "resnet.pth"
    not_weights.write_bytes(b"not a checkpoint")
    args = ["train-preference", "--export", str(workspace / "export"), "--out", str(tmp_path / "r")]
    assert main([*args, "--resnet50-weights", str(tmp_path / "nope.pth")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert (
        main([*args, "--resnet50-weights", str(not_weights), "--random-init", "--cache-dir", str(tmp_path / "cache")])
        == 2
    )
    assert "cannot read" in capsys.readouterr().err
    assert main(["evaluate-preference", "--run", str(tmp_path)]) == 2
    assert "checkpoint.pt is missing" in capsys.readouterr().err
