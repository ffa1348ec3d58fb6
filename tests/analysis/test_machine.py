"""Rankings file (python -m training rank) -> machine distance file -> the report's Machine row."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.cli import main
from analysis.machine import RANKING_COLUMNS, rankings_to_distances, write_machine_distances
from analysis.preference import load_machine_distances, machine_share_table, preference_trials
from tests.factories.analysis import ChoiceRowFactory, choices_frame

HEADER = "query_kind,query_id,candidate_id,rank,score,model_version\n"
RANKINGS = HEADER + (
    "clip,11,21,1,0.800000,vmnet:run@abc\n"
    "clip,11,22,2,0.100000,vmnet:run@abc\n"
    "excerpt,21,11,1,0.800000,vmnet:run@abc\n"
    "excerpt,21,12,2,0.750000,vmnet:run@abc\n"
)


def rankings(tmp_path, text=RANKINGS):
    path = tmp_path / "rankings.csv"
    path.write_text(text)
    return path


def test_ranking_columns_are_the_training_modules():
    pipeline = pytest.importorskip("training.retrieval.pipeline")
    assert tuple(pipeline.RANKING_COLUMNS) == RANKING_COLUMNS


def test_both_query_kinds_map_to_clip_excerpt_pairs_with_cosine_distance(tmp_path):
    result = rankings_to_distances(rankings(tmp_path))
    table = result.distances.set_index(["clip_id", "excerpt_id"])["distance"]
    # (11, 21) was ranked from both sides and appears once
    assert table.to_dict() == pytest.approx({(11, 21): 0.2, (11, 22): 0.9, (12, 21): 0.25})
    assert set(result.distances["model"]) == {"vmnet:run@abc"}
    assert "of all pairs" in result.notes[0] and "rank --top 0" in result.notes[0]


def test_converted_file_drives_the_machine_row(tmp_path):
    out = write_machine_distances(
        rankings_to_distances(rankings(tmp_path), model="VM-NET").distances, tmp_path / "m.csv"
    )
    distances = load_machine_distances(out)
    rows = [
        ChoiceRowFactory(
            direction="V2M", condition="GR", query_id=11, left_id=22, left_kind="R", right_id=21, right_kind="G"
        ),
        ChoiceRowFactory(
            direction="M2V", condition="GR", query_id=21, left_id=11, left_kind="G", right_id=12, right_kind="R"
        ),
    ]
    table, notes = machine_share_table(preference_trials(choices_frame(rows)), distances)
    table = table.set_index(["condition", "direction"])
    assert (table["subject"] == "VM-NET").all() and notes == []
    assert table.loc[("GR", "V2M"), ["n", "k"]].tolist() == [1, 1]
    assert table.loc[("GR", "M2V"), ["n", "k"]].tolist() == [1, 1]  # G clip 11 (0.2) beats R clip 12 (0.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("query_kind,query_id,rank,score,model_version\n", "missing column.*candidate_id"),
        (HEADER, "no rankings"),
        (HEADER + "video,1,2,1,0.5,m\n", "line 2: query_kind 'video'"),
        (HEADER + "clip,1,2,1,0.5,m\nclip,1,3,2,high,m\n", "line 3: score 'high' is not a cosine"),
        (HEADER + "clip,1,2,1,1.5,m\n", "score '1.5'"),
        (HEADER + "clip,1.5,2,1,0.5,m\n", "query_id '1.5' is not a whole number"),
        (HEADER + "clip,1,2,0,0.5,m\n", "rank '0' is not a whole number >= 1"),
        (HEADER + "clip,1,2,1,0.5,\n", "empty model_version"),
        (HEADER + "clip,1,2,1,0.5,m\nexcerpt,2,1,1,0.3,m\n", "different scores.*clip 1, excerpt 2"),
    ],
)
def test_bad_rankings_files_are_clear_errors(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        rankings_to_distances(rankings(tmp_path, text))


def test_cli_converts_and_reports_errors(tmp_path, capsys):
    out = tmp_path / "machine_distances.csv"
    assert main(["machine", str(rankings(tmp_path)), "--out", str(out), "--model", "VM-NET"]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["model", "clip_id", "excerpt_id", "distance"] and len(written) == 3
    assert main(["machine", str(tmp_path / "absent.csv"), "--out", str(out)]) == 2
    assert "rankings file not found" in capsys.readouterr().err
