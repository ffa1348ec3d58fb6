"""The two VM-NET losses (Hong, Im & Yang, §III-C, Eq. 1-6).

Embeddings are L2-normalised, so the distance is the negative dot product, d(x, y) = -x·y, as
in the paper ("we use the negative value of the dot product").

Inter-modal ranking (Eq. 1, 2): for a video anchor v_i with its music m_i and another music m_j,
    max(0, ε + d(v_i, m_i) - d(v_i, m_j)),
and the same with a music anchor. Only the top-K most violating negatives of each anchor (the K
closest non-matching items) enter the loss; the result is the mean over anchors x K.

Soft intra-modal structure (Eq. 3, 4, 6): for three items i, j, k of one modality, with distances
d̃ before the embedding network and d after it,
    s(i, j, k) = (sgn(d̃_ij - d̃_ik) - sgn(d_ij - d_ik)) · (d_ik - d_ij).
s is 0 when the embedding keeps the order of d_ij and d_ik that the input features had and
2·|d_ik - d_ij| when it reverses it, so the constraint preserves *relative* distances without a margin
and without needing intra-modal pair labels. The sgn factors carry no gradient; the loss is the
mean of s over all ordered triplets of distinct items. The pre-embedding distance is the negative
cosine similarity of the raw features, as in the authors' public code.
"""

from __future__ import annotations

import torch
from torch.nn import functional


def pairwise_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(x_i, y_j) = -x_i·y_j for L2-normalised rows."""
    return -(x @ y.T)


def inter_modal_ranking_loss(
    video: torch.Tensor,
    music: torch.Tensor,
    *,
    margin: float = 0.1,
    top_k: int = 100,
    positive_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(video-anchored loss, music-anchored loss) for a batch where row i of each is a matching pair.

    ``positive_mask[i, j]`` marks video i and music j as matching (besides the diagonal), e.g. two
    excerpts chosen for the same clip; such pairs are never used as negatives.
    """
    n = video.shape[0]
    if music.shape[0] != n:
        raise ValueError("video and music batches must have the same length (row i is a pair)")
    if n < 2:
        zero = video.sum() * 0.0
        return zero, zero
    distance = pairwise_distance(video, music)
    positives = torch.eye(n, dtype=torch.bool, device=video.device)
    if positive_mask is not None:
        positives = positives | positive_mask
    diagonal = distance.diagonal()
    return (
        _top_k_hinge(distance, diagonal, positives, margin=margin, top_k=top_k),
        _top_k_hinge(distance.T, diagonal, positives.T, margin=margin, top_k=top_k),
    )


def _top_k_hinge(
    distance: torch.Tensor, positive: torch.Tensor, positives: torch.Tensor, *, margin: float, top_k: int
) -> torch.Tensor:
    """Rows are anchors: mean over anchors and their K closest negatives of max(0, ε + d_pos - d_neg)."""
    negatives_per_row = (~positives).sum(dim=1)
    k = int(min(top_k, int(negatives_per_row.max())))
    if k == 0:
        return distance.sum() * 0.0
    # Positives are pushed to +inf so that they are never among the K smallest distances.
    masked = distance.masked_fill(positives, float("inf"))
    closest, _ = torch.topk(masked, k, dim=1, largest=False)
    valid = torch.isfinite(closest)  # rows with fewer than K negatives
    hinge = functional.relu(margin + positive[:, None] - closest.masked_fill(~valid, 0.0))
    return (hinge * valid).sum() / valid.sum().clamp_min(1)


def soft_intra_modal_structure_loss(embedded: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """Mean of s(i, j, k) over ordered triplets of distinct items (see the module docstring)."""
    n = embedded.shape[0]
    if n < 3:
        return embedded.sum() * 0.0
    raw = functional.normalize(raw, dim=1)
    before = pairwise_distance(raw, raw)
    after = pairwise_distance(embedded, embedded)
    # [i, j, k] = d_ij - d_ik
    order_before = torch.sign(before[:, :, None] - before[:, None, :])
    gap_after = after[:, :, None] - after[:, None, :]
    s = (order_before - torch.sign(gap_after).detach()) * (-gap_after)
    index = torch.arange(n, device=embedded.device)
    distinct = (
        (index[:, None, None] != index[None, :, None])
        & (index[:, None, None] != index[None, None, :])
        & (index[None, :, None] != index[None, None, :])
    )
    return s[distinct].mean()
