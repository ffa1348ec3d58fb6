"""``python -m training montage`` / ``supervise``, by precomputed embeddings and by a published model."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from tests.support.tiny_model import publish_tiny_model
from training.cli import main
from training.montage import media
from training.montage.library import read_library
from training.montage.montage import make_montage, supervise
from training.montage.scoring import EmbeddingScorer, ModelScorer
from training.montage.segments import Segmentation
from training.montage.synthetic import make_library, make_song

FPS = 10


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("montage-cli")
    make_library(root / "library", clips=10, clip_s=2.0, fps=FPS, per_source=5, excerpts=4)
    make_song(root / "song.wav", duration_s=6.2)
    return root


def test_the_montage_command_writes_the_video_and_its_provenance(library, tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "emb.npz",
        frames=rng.normal(size=(70, 4)),
        hop_s=0.1,
        clips=rng.normal(size=(10, 4)),
        model_version="openl3-joint@2",
    )
    out = tmp_path / "m.mp4"
    args = ["montage", str(library / "song.wav"), "--library", str(library / "library")]
    args += ["--embeddings", str(tmp_path / "emb.npz"), "--out", str(out), "--segments", "fixed:1.2"]
    args += ["--max-segment", "2", "--fps", str(FPS), "--no-same-source", "--seed", "4"]
    assert main(args) == 0
    record = json.loads((tmp_path / "m.provenance.json").read_text())
    assert record["model_version"] == "openl3-joint@2" and record["constraints"]["no_same_source"]
    sources = [s["source_video_id"] for s in record["segments"]]
    assert all(a != b for a, b in itertools.pairwise(sources))
    assert len(media.frame_hashes(out)) == round(6.2 * FPS)
    assert "provenance" in capsys.readouterr().out


def test_the_commands_turn_bad_input_into_one_error_line_and_no_file(library, tmp_path, capsys):
    song = tmp_path / "song.ogg"
    song.write_text("not audio")
    np.savez(tmp_path / "emb.npz", frames=np.ones((10, 2)), hop_s=0.1, clips=np.ones((10, 2)))
    out = tmp_path / "m.mp4"
    code = main(
        [
            "montage",
            str(song),
            "--library",
            str(library / "library"),
            "--embeddings",
            str(tmp_path / "emb.npz"),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 2
    assert "could not be decoded" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.npz", "song.ogg"]
    code = main(
        ["montage", str(library / "song.wav"), "--library", str(library / "library"), "--out", str(out), "--quiet"]
    )
    assert code == 2 and "exactly one of --model" in capsys.readouterr().err
    code = main(["supervise", str(library / "song.wav"), "--library", str(library), "--model", "nope@1"])
    assert code == 2 and "not an mvfit export directory" in capsys.readouterr().err
    video = str(library / "library" / "media" / "clip-00000.mp4")
    code = main(["supervise", video, "--library", str(library / "library"), "--model", "nope@1"])
    assert code == 2 and "model nope@1 is not published" in capsys.readouterr().err


def test_supervise_ranks_tracks_by_their_nearest_excerpt(library, tmp_path, capsys):
    excerpts = read_library(library / "library", "excerpt")  # 4 excerpts of tracks 500, 500, 501, 501
    scorer = EmbeddingScorer(
        queries=np.array([[1.0, 0.0]]),
        items=np.array([[0.0, 1.0], [1.0, 0.1], [1.0, 0.5], [-1.0, 0.0]]),
        model_version="test",
    )
    rows = supervise(library / "library" / "media" / "clip-00000.mp4", excerpts, scorer=scorer, top=5)
    assert [(r["rank"], r["track_id"], r["excerpt_id"]) for r in rows] == [(1, 500, 1001), (2, 501, 1002)]
    assert rows[0]["distance"] == pytest.approx(1 - 1 / np.sqrt(1.01), abs=1e-6)
    np.savez(tmp_path / "v.npz", queries=np.array([[1.0, 0.0]]), excerpts=scorer.items)
    video = str(library / "library" / "media" / "clip-00000.mp4")
    args = ["supervise", video, "--library", str(library / "library"), "--embeddings", str(tmp_path / "v.npz")]
    assert main([*args, "--top", "1"]) == 0
    assert [r["track_id"] for r in json.loads(capsys.readouterr().out)] == [500]


def test_a_published_model_drives_the_montage_and_the_supervision(library, tmp_path):
    cache, models = tmp_path / "cache", tmp_path / "models"
    publish_tiny_model(library / "library", models, cache_dir=cache)
    scorer = ModelScorer("tiny@1", models_dir=models, cache_dir=cache)
    clips = read_library(library / "library", "clip")
    record = make_montage(
        library / "song.wav",
        clips,
        scorer=scorer,
        out=tmp_path / "m.mp4",
        segmentation=Segmentation.parse("fixed:1.5", max_segment_s=2.0),
        fps=FPS,
        model="tiny@1",
    )
    assert record["model"] == "tiny@1" and record["model_version"].startswith("vmnet:run-tiny-1@")
    distances = [s["distance"] for s in record["segments"]]
    assert all(0 <= d <= 2 for d in distances) and len(set(distances)) > 1
    assert all(s["rank"] >= 1 for s in record["segments"])
    rows = supervise(clips[0].path, read_library(library / "library", "excerpt"), scorer=scorer, top=2)
    assert len(rows) == 2 and rows[0]["distance"] <= rows[1]["distance"]
    assert rows[0]["model_version"] == record["model_version"]
