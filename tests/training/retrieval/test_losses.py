"""The VM-NET losses on batches small enough to work out on paper (the numbers below were).

Embeddings (unit vectors, so d(x, y) = -x.y):
    v1 = (1, 0)    v2 = (0, 1)    v3 = (0.6, 0.8)
    m1 = (0.8, 0.6) m2 = (0, 1)   m3 = (1, 0)
Distance matrix d[i][j] = d(v_i, m_j):
    [[-0.8,  0.0, -1.0],
     [-0.6, -1.0,  0.0],
     [-0.96, -0.8, -0.6]]
"""

from __future__ import annotations

import pytest
import torch

from training.retrieval.losses import inter_modal_ranking_loss, soft_intra_modal_structure_loss

V = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
M = torch.tensor([[0.8, 0.6], [0.0, 1.0], [1.0, 0.0]])


def test_top1_violations_in_both_directions():
    # Video anchors, closest negative each: v1 -> m3 (-1.0): 0.1 - 0.8 + 1.0 = 0.3
    #   v2 -> m1 (-0.6): 0.1 - 1.0 + 0.6 < 0 -> 0;  v3 -> m1 (-0.96): 0.1 - 0.6 + 0.96 = 0.46
    # Music anchors: m1 -> v3 (-0.96): 0.1 - 0.8 + 0.96 = 0.26;  m2 -> v3 (-0.8): 0.1 - 1.0 + 0.8 < 0 -> 0
    #   m3 -> v1 (-1.0): 0.1 - 0.6 + 1.0 = 0.5
    v2m, m2v = inter_modal_ranking_loss(V, M, margin=0.1, top_k=1)
    assert float(v2m) == pytest.approx((0.3 + 0.0 + 0.46) / 3)
    assert float(m2v) == pytest.approx((0.26 + 0.0 + 0.5) / 3)


def test_top2_adds_the_second_closest_negatives():
    # Second negatives: v1 -> m2: 0.1 - 0.8 + 0 < 0;  v2 -> m3: 0.1 - 1 + 0 < 0;  v3 -> m2: 0.1 - 0.6 + 0.8 = 0.3
    #                   m1 -> v2: 0.1 - 0.8 + 0.6 < 0; m2 -> v1: 0.1 - 1 + 0 < 0;  m3 -> v2: 0.1 - 0.6 + 0 < 0
    v2m, m2v = inter_modal_ranking_loss(V, M, margin=0.1, top_k=2)
    assert float(v2m) == pytest.approx((0.3 + 0.46 + 0.3) / 6)
    assert float(m2v) == pytest.approx((0.26 + 0.5) / 6)


def test_k_larger_than_the_batch_uses_every_negative():
    v2m, _ = inter_modal_ranking_loss(V, M, margin=0.1, top_k=100)
    assert float(v2m) == pytest.approx((0.3 + 0.46 + 0.3) / 6)


def test_extra_positives_are_never_negatives():
    # Declaring (v3, m1) a matching pair removes it from v3's and m1's negatives:
    #   v3's only negative is m2: 0.1 - 0.6 + 0.8 = 0.3;  m1's only negative is v2: 0.1 - 0.8 + 0.6 < 0 -> 0
    mask = torch.zeros(3, 3, dtype=torch.bool)
    mask[2, 0] = True
    v2m, m2v = inter_modal_ranking_loss(V, M, margin=0.1, top_k=1, positive_mask=mask)
    assert float(v2m) == pytest.approx((0.3 + 0.0 + 0.3) / 3)
    assert float(m2v) == pytest.approx((0.0 + 0.0 + 0.5) / 3)


def test_gradient_pulls_the_violating_negative_away():
    video = V.clone().requires_grad_(True)
    v2m, _ = inter_modal_ranking_loss(video, M, margin=0.1, top_k=1)
    v2m.backward()
    # d(v1, m1) - d(v1, m3) = -v1.m1 + v1.m3 -> gradient wrt v1 is (m3 - m1) / 3 = (0.2, -0.6) / 3
    torch.testing.assert_close(video.grad[0], torch.tensor([0.2, -0.6]) / 3)


def test_soft_structure_loss_on_three_items():
    # raw (unit): r1 = (1, 0), r2 = (0.8, 0.6), r3 = (0, 1)   -> d~12 = -0.8, d~13 = 0, d~23 = -0.6
    # embedded:   e1 = (1, 0), e2 = (0, 1),     e3 = (0.6, 0.8) -> d12 = 0, d13 = -0.6, d23 = -0.8
    # s(i,j,k) = (sgn(d~ij - d~ik) - sgn(dij - dik)) * (dik - dij):
    #   (1,2,3): (-1 - 1) * (-0.6 - 0) = 1.2     (1,3,2): (1 - (-1)) * (0 + 0.6) = 1.2
    #   (2,1,3): (-1 - 1) * (-0.8 - 0) = 1.6     (2,3,1): (1 - (-1)) * (0 + 0.8) = 1.6
    #   (3,1,2): (1 - 1) * ... = 0               (3,2,1): (-1 - (-1)) * ... = 0
    raw = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    embedded = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    loss = soft_intra_modal_structure_loss(embedded, raw)
    assert float(loss) == pytest.approx((1.2 + 1.2 + 1.6 + 1.6) / 6)


def test_soft_structure_loss_is_zero_when_the_order_is_kept_and_ignores_scale():
    raw = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]) * 7.0  # raw features are compared by cosine
    # d12 = -0.96, d13 = 0, d23 = -0.28: every anchor keeps the order of its two neighbours.
    embedded = torch.tensor([[1.0, 0.0], [0.96, 0.28], [0.0, 1.0]])
    assert float(soft_intra_modal_structure_loss(embedded, raw)) == 0.0


def test_tiny_batches_give_zero_loss_not_errors():
    v2m, m2v = inter_modal_ranking_loss(V[:1], M[:1])
    assert float(v2m) == 0.0 and float(m2v) == 0.0
    assert float(soft_intra_modal_structure_loss(V[:2], M[:2])) == 0.0
