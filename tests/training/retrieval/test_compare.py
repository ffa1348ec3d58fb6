"""retrieval-compare and publish-model end to end through the CLI, on planted music videos (real media)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from training.cli import main
from training.registry import read_manifest
from training.representations.precomputed import EmbeddingDirectory
from training.retrieval.protocol import SCENARIOS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def comparison(planted_av, tmp_path_factory):
    export, _ = planted_av
    root = tmp_path_factory.mktemp("compare")
    # "Precomputed" embeddings as a user would bring them from OpenL3: one .npy per soundtrack, by content.
    store = EmbeddingDirectory.create(root / "openl3", name="fake-openl3", modality="audio", dim=16, hop_s=0.5)
    rng = np.random.default_rng(0)
    for path in sorted((export / "media").glob("soundtrack*.flac")):
        store.write(path, rng.normal(size=(30, 16)))
    config = {
        "library": {"kind": "export", "path": str(export)},
        "audio": ["handcrafted", {"name": "precomputed", "path": str(root / "openl3"), "label": "openl3"}],
        "video": {"name": "colour", "fps": 4, "size": 32},
        "losses": ["vmnet", "bce"],
        "levels": ["clip", "foote", "shots", {"name": "fixed", "window_s": 2.0}],
        "alignments": ["trace", "best-trace", "nw-dtw", "sw-dtw"],
        "seeds": [0, 1, 2],
        "split": [0.5, 0.2, 0.3],
        "training": {"video_layers": [16, 8], "music_layers": [16, 8], "bce_hidden": [16, 8], "epochs": 3},
        "qualitative": {"queries": 2},
        "save": [
            {"audio": "handcrafted", "loss": "vmnet", "level": "foote", "method": "sw-dtw"},
            {"audio": "openl3", "loss": "bce", "level": "clip", "method": "clip"},
        ],
    }
    (root / "config.json").write_text(json.dumps(config))
    status = main(
        [
            "retrieval-compare",
            "--config",
            str(root / "config.json"),
            "--out",
            str(root / "out"),
            "--cache-dir",
            str(root / "cache"),
            "--quiet",
        ]
    )
    assert status == 0
    return root, export


def test_the_comparison_writes_tables_figures_edits_and_models(comparison):
    root, _ = comparison
    out = root / "out"
    for name in ("config.json", "results.csv", "table.csv", "table.md", "edits.csv", "training.csv"):
        assert (out / name).is_file(), name
    for name in ("recall.png", "mean_rank.png", "qualitative.png"):
        assert (out / "figures" / name).stat().st_size > 10_000, name
    results = pd.read_csv(out / "results.csv")
    # 2 audio x 2 losses x (clip under 3 segmentations' edits + 3 segmentations x 4 alignments) x 4 scenarios x 2 directions x 3 seeds
    assert len(results) == 2 * 2 * (3 + 3 * 4) * len(SCENARIOS) * 2 * 3
    table = pd.read_csv(out / "table.csv")
    assert (table["seeds"] == 3).all()
    assert {"R@1_mean", "R@1_sd", "R@5_mean", "R@10_mean", "R@25_mean", "mean_rank_mean", "median_rank_sd"} <= set(
        table.columns
    )
    markdown = (out / "table.md").read_text()
    assert "**Video → music**" in markdown and "| openl3 | bce | clip | clip |" in markdown
    assert set(pd.read_csv(out / "edits.csv")["scenario"]) == {"crop-query", "stretch-targets", "crop-stretch"}
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["music_videos"] == 10 and set(recorded["segments_per_video"]) == {"foote", "shots", "fixed"}
    assert (out / "models" / "handcrafted-vmnet-foote-sw-dtw" / "checkpoint.pt").is_file()


def test_a_saved_model_is_published_as_a_search_source(comparison):
    root, export = comparison
    models = root / "registry"
    for run, name in (("handcrafted-vmnet-foote-sw-dtw", "seg-vmnet"), ("openl3-bce-clip-clip", "clip-bce")):
        status = main(
            [
                "publish-model",
                "--run",
                str(root / "out" / "models" / run),
                "--name",
                name,
                "--version",
                "1",
                "--export",
                str(export),
                "--models-dir",
                str(models),
                "--cache-dir",
                str(root / "cache"),
                "--quiet",
            ]
        )
        assert status == 0
        directory, manifest = read_manifest(models, name, "1")
        rankings = pd.read_csv(directory / "rankings.csv")
        assert manifest["clips"] == manifest["excerpts"] == 10
        # Every clip ranks every excerpt (and back), ranks 1..10 with non-increasing scores.
        for kind in ("clip", "excerpt"):
            part = rankings[rankings["query_kind"] == kind]
            assert part.groupby("query_id")["candidate_id"].nunique().eq(10).all()
            for _, group in part.groupby("query_id"):
                assert group["rank"].tolist() == list(range(1, 11))
                assert group["score"].is_monotonic_decreasing
        assert rankings["model_version"].nunique() == 1
        assert rankings["model_version"].iloc[0] == manifest["model_version"]
    assert read_manifest(models, "seg-vmnet", "1")[1]["level"] == "foote"
    assert read_manifest(models, "seg-vmnet", "1")[1]["model_version"].startswith("seg-vmnet:")
    # A published version is never overwritten.
    again = main(
        [
            "publish-model",
            "--run",
            str(root / "out" / "models" / "openl3-bce-clip-clip"),
            "--name",
            "clip-bce",
            "--version",
            "1",
            "--export",
            str(export),
            "--models-dir",
            str(models),
            "--quiet",
        ]
    )
    assert again == 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"library": {"kind": "export"}}, "needs a 'path'"),
        ({"library": {"kind": "planted"}, "losses": ["hinge"]}, "'losses' must be drawn"),
        ({"library": {"kind": "planted"}, "levels": ["clip", "olda"]}, "segmenter must be one of"),
        ({"library": {"kind": "planted"}, "alignments": ["viterbi"]}, "'alignments' must be drawn"),
        ({"library": {"kind": "planted"}, "seeds": [0, 0]}, "distinct integers"),
        ({"library": {"kind": "planted"}, "colour": 1}, "unknown configuration key"),
        (
            {
                "library": {"kind": "planted"},
                "save": [{"audio": "vggish", "loss": "vmnet", "level": "clip", "method": "clip"}],
            },
            "not in the grid",
        ),
        ({"library": {"kind": "planted", "groups": 1}}, "3 groups"),
    ],
)
def test_bad_configurations_end_with_one_error_line(tmp_path, capsys, config, message):
    (tmp_path / "c.json").write_text(json.dumps(config))
    status = main(["retrieval-compare", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err
    assert not (tmp_path / "out").exists()
