"""Inferred-label input: the CSV is checked, and raw items become one soft-labelled item per comparison."""

from __future__ import annotations

import pandas as pd
import pytest

from training.data.labels import inferred_items, read_inferred_labels
from training.errors import TrainingInputError

LABELS = "experiment_id,direction,condition,query_id,option_a,option_b,label_id,p_a,confidence\n"


def write(tmp_path, body: str, header: str = LABELS):
    path = tmp_path / "labels.csv"
    path.write_text(header + body)
    return path


def raw_items(rows):
    return pd.DataFrame(
        [
            {
                "direction": "V2M",
                "query_kind": "clip",
                "query_id": q,
                "option_kind": "excerpt",
                "a_id": a,
                "b_id": b,
                "label": label,
                "videos": frozenset([q]),
                "worker_id": f"W{n:016x}",
                "experiment_id": 1,
            }
            for n, (q, a, b, label) in enumerate(rows)
        ]
    )


def test_soft_label_follows_the_option_shown_as_a():
    labels = pd.DataFrame(
        {"experiment_id": [1, 1], "direction": "V2M", "query_id": [10, 11], "option_a": [1, 1], "option_b": [2, 3]}
    ).assign(p_a=[0.9, 0.5])
    # Three raw answers to (10: 1 vs 2), first shown with 2 on the left; one to (11: 1 vs 3).
    items = raw_items([(10, 2, 1, 1), (10, 1, 2, 1), (10, 2, 1, 0), (11, 1, 3, 1)])
    out = inferred_items(items, labels)
    # (11) has p = 1/2: no preference, left out. (10) is one item, A = excerpt 2, so P(A) = 1 - 0.9.
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["a_id"], row["b_id"]) == (2, 1)
    assert row["label"] == pytest.approx(0.1)
    assert list(out.columns) == list(items.columns)


def test_a_comparison_without_an_inferred_label_is_an_error():
    labels = pd.DataFrame(
        {"experiment_id": [1], "direction": "V2M", "query_id": [10], "option_a": [1], "option_b": [2]}
    )
    with pytest.raises(TrainingInputError, match="no inferred label"):
        inferred_items(raw_items([(10, 1, 2, 1), (12, 1, 2, 0)]), labels.assign(p_a=0.8))


def test_the_csv_is_read_and_checked(tmp_path):
    frame = read_inferred_labels(write(tmp_path, "1,V2M,none,10,1,2,2,0.25,0.75\n"))
    assert frame.iloc[0].to_dict() == {
        "experiment_id": 1,
        "direction": "V2M",
        "query_id": 10,
        "option_a": 1,
        "option_b": 2,
        "p_a": 0.25,
    }
    with pytest.raises(TrainingInputError, match="no such file"):
        read_inferred_labels(tmp_path / "absent.csv")
    with pytest.raises(TrainingInputError, match="missing column"):
        read_inferred_labels(
            write(tmp_path, "1,V2M,10,1,2\n", header="experiment_id,direction,query_id,option_a,option_b\n")
        )
    with pytest.raises(TrainingInputError, match="line 3: p_a must be a probability"):
        read_inferred_labels(write(tmp_path, "1,V2M,none,10,1,2,2,0.25,0.75\n1,V2M,none,10,1,3,3,1.5,1\n"))
    with pytest.raises(TrainingInputError, match="line 2: column query_id must be an integer"):
        read_inferred_labels(write(tmp_path, "1,V2M,none,ten,1,2,2,0.25,0.75\n"))
    with pytest.raises(TrainingInputError, match="line 3: a second label"):
        read_inferred_labels(write(tmp_path, "1,V2M,none,10,1,2,2,0.25,0.75\n1,V2M,none,10,1,2,2,0.3,0.7\n"))
