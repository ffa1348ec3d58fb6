"""Recall@K and rank statistics in both directions (VM-NET §V-A).

For a video query, Recall@K is the share of queries whose ground-truth music (any of them, when a
clip has several) is among the K most similar music candidates; likewise for music queries. Chance
for a single ground truth among N candidates is K/N.
"""

from __future__ import annotations

import numpy as np
import torch

KS = (1, 10, 25)


def best_ranks(similarity: torch.Tensor, positives: torch.Tensor) -> np.ndarray:
    """1-based rank of the best-ranked positive of each query row (ties count against the query)."""
    if not bool(positives.any(dim=1).all()):
        raise ValueError("every query needs at least one positive candidate")
    best_positive = similarity.masked_fill(~positives, float("-inf")).max(dim=1).values
    # Rank = 1 + number of negatives scoring at least as high as the best positive.
    ahead = ((similarity >= best_positive[:, None]) & ~positives).sum(dim=1)
    return (ahead + 1).numpy()


def retrieval_metrics(similarity: torch.Tensor, positives: torch.Tensor, *, ks=KS) -> dict:
    """Metrics for video→music (rows are clips) and music→video (rows are excerpts)."""
    result = {}
    for direction, sim, pos in (("v2m", similarity, positives), ("m2v", similarity.T, positives.T)):
        ranks = best_ranks(sim, pos)
        candidates = sim.shape[1]
        for k in ks:
            result[f"{direction}_R@{k}"] = float(np.mean(ranks <= k))
            result[f"{direction}_chance_R@{k}"] = min(1.0, k / candidates)
        result[f"{direction}_mean_rank"] = float(np.mean(ranks))
        result[f"{direction}_median_rank"] = float(np.median(ranks))
        result[f"{direction}_queries"] = int(sim.shape[0])
        result[f"{direction}_candidates"] = int(candidates)
    return result


def format_metrics(metrics: dict, *, ks=KS) -> str:
    lines = [f"{'direction':<16}" + "".join(f"{f'R@{k}':>16}" for k in ks) + f"{'mean rank':>12}{'median rank':>13}"]
    for direction, label in (("v2m", "video→music"), ("m2v", "music→video")):
        cells = ""
        for k in ks:
            recall, chance = metrics[f"{direction}_R@{k}"], metrics[f"{direction}_chance_R@{k}"]
            cells += f"{f'{100 * recall:.1f} % ({100 * chance:.1f})':>16}"
        lines.append(
            f"{label:<16}{cells}{metrics[f'{direction}_mean_rank']:>12.1f}{metrics[f'{direction}_median_rank']:>13.1f}"
            f"   ({metrics[f'{direction}_queries']} queries, {metrics[f'{direction}_candidates']} candidates)"
        )
    lines.append("(chance level in brackets: K / number of candidates)")
    return "\n".join(lines)
