from __future__ import annotations

import pytest
import torch

from training.retrieval.metrics import best_ranks, format_metrics, retrieval_metrics


def test_ranks_and_recall_by_hand():
    # 3 clips x 4 excerpts; ground truth clip i <-> excerpt i (excerpt 3 is a distractor).
    similarity = torch.tensor(
        [
            [0.9, 0.1, 0.2, 0.5],  # clip 0: its excerpt 0 is best -> rank 1
            [0.8, 0.3, 0.1, 0.9],  # clip 1: excerpt 1 (0.3) is beaten by 0.8 and 0.9 -> rank 3
            [0.1, 0.2, 0.4, 0.0],  # clip 2: excerpt 2 best -> rank 1
        ]
    )
    positives = torch.zeros(3, 4, dtype=torch.bool)
    positives[0, 0] = positives[1, 1] = positives[2, 2] = True
    assert best_ranks(similarity, positives).tolist() == [1, 3, 1]
    # Excerpt 3 has no ground truth, so it cannot be a music query.
    with pytest.raises(ValueError, match="positive"):
        retrieval_metrics(similarity, positives)
    # Without the distractor: clip 1 still has excerpt 0 (0.8) ahead of its own -> rank 2.
    metrics = retrieval_metrics(similarity[:, :3], positives[:, :3], ks=(1, 2))
    assert metrics["v2m_R@1"] == pytest.approx(2 / 3)
    assert metrics["v2m_R@2"] == 1.0
    assert metrics["v2m_mean_rank"] == pytest.approx(4 / 3)
    assert metrics["v2m_median_rank"] == 1
    assert metrics["v2m_chance_R@1"] == pytest.approx(1 / 3)
    # Music queries (columns): excerpt 0 -> clip 0 (0.9 vs 0.8, 0.1), excerpt 1 -> clip 1 (0.3 vs 0.1, 0.2),
    # excerpt 2 -> clip 2 (0.4 vs 0.2, 0.1): all rank 1.
    assert metrics["m2v_R@1"] == 1.0
    assert metrics["m2v_mean_rank"] == 1.0
    assert "R@1" in format_metrics(metrics, ks=(1, 2))


def test_several_positives_count_the_best_one_and_ties_count_against():
    similarity = torch.tensor([[0.5, 0.5, 0.2]])
    positives = torch.tensor([[False, True, True]])
    assert best_ranks(similarity, positives).tolist() == [2]
