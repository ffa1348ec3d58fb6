from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.training.fakes import planted_feature_export, standin_streams
from training.errors import TrainingInputError
from training.retrieval.pipeline import (
    RANKING_COLUMNS,
    RetrievalRunConfig,
    model_version,
    train_retrieval,
    write_rankings,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("retrieval")
    planted_feature_export(tmp_path / "export", n_videos=60, n_tracks=6, trials_per_video=1, ground_truth=True, seed=3)
    config = RetrievalRunConfig(
        export=str(tmp_path / "export"),
        out=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"),
        video_layers=(32, 16),
        music_layers=(32, 32, 16),
        epochs=60,
        patience=60,
        batch_size=32,
        top_k=10,
        lr=1e-2,
        dropout=0.0,
    )
    summary = train_retrieval(config, streams=standin_streams(), progress=False, log=lambda *_: None)
    return tmp_path, summary


def test_retrieval_beats_chance_on_held_out_videos(run):
    _, summary = run
    test = summary["test"]
    # The soundtrack shares the clip's latent features: the embedding should find it far above K/N.
    assert test["v2m_R@1"] > 3 * test["v2m_chance_R@1"]
    assert test["m2v_R@1"] > 3 * test["m2v_chance_R@1"]
    assert test["v2m_mean_rank"] < test["v2m_candidates"] / 2


def test_run_directory_and_rankings_file(run):
    tmp_path, _ = run
    for name in (
        "checkpoint.pt",
        "config.json",
        "split.json",
        "metrics.csv",
        "learning_curve.png",
        "summary.json",
        "report.html",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    out = tmp_path / "rankings.csv"
    vectors = tmp_path / "vectors.npz"
    rows = write_rankings(tmp_path / "run", out, streams=standin_streams(), top=5, vectors_out=vectors, progress=False)
    with open(out, newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == RANKING_COLUMNS
        table = list(reader)
    assert len(table) == rows
    clips = [r for r in table if r["query_kind"] == "clip"]
    excerpts = [r for r in table if r["query_kind"] == "excerpt"]
    assert len(clips) == 60 * 5  # every clip, top 5 excerpts
    assert len(excerpts) == (60 + 6) * 5  # every excerpt (soundtracks + library tracks), top 5 clips
    version = model_version(tmp_path / "run")
    assert {r["model_version"] for r in table} == {version}
    assert version.startswith("vmnet:run@")
    first_query = [r for r in clips if r["query_id"] == clips[0]["query_id"]]
    assert [int(r["rank"]) for r in first_query] == [1, 2, 3, 4, 5]
    scores = [float(r["score"]) for r in first_query]
    assert scores == sorted(scores, reverse=True)
    # The embeddings file gives the same scores: the rankings file is their top-5 per query.
    with np.load(vectors) as data:
        assert str(data["model_version"]) == version
        clip_row = int(np.flatnonzero(data["clip_ids"] == int(first_query[0]["query_id"]))[0])
        excerpt_row = int(np.flatnonzero(data["excerpt_ids"] == int(first_query[0]["candidate_id"]))[0])
        score = float(data["clip_vectors"][clip_row] @ data["excerpt_vectors"][excerpt_row])
    assert score == pytest.approx(scores[0], abs=1e-5)


def test_rank_refuses_a_negative_top(run):
    tmp_path, _ = run
    with pytest.raises(TrainingInputError, match="--top"):
        write_rankings(tmp_path / "run", tmp_path / "x.csv", streams=standin_streams(), top=-1, progress=False)


def test_the_experiments_app_reads_both_files_as_search_sources(run):
    from experiments.search import FeatureNeighbourSource, RankingFileSource

    tmp_path, _ = run
    rankings, vectors = tmp_path / "contract.csv", tmp_path / "contract.npz"
    write_rankings(tmp_path / "run", rankings, streams=standin_streams(), top=0, vectors_out=vectors, progress=False)
    from_file = RankingFileSource(rankings)
    from_vectors = FeatureNeighbourSource(vectors)
    version = model_version(tmp_path / "run")
    assert from_file.name.endswith(f"@{version}") and from_vectors.name.endswith(f"@{version}")
    for direction, query in (("V2M", 1), ("M2V", 1001)):
        listed = [r.candidate_id for r in from_file.ranked(direction=direction, query_id=query)]
        nearest = [r.candidate_id for r in from_vectors.ranked(direction=direction, query_id=query)]
        assert listed[:5] == nearest[:5]
