"""Slow, obviously-correct alignment costs: the yardstick for :mod:`training.alignment.core`.

Two levels, each written for clarity rather than speed:

* ``reference_cost`` — plain Python over a list-of-lists similarity matrix, with full dynamic
  programming tables exactly as the recurrences in :mod:`training.alignment.core` are written;
* ``brute_force_cost`` — no dynamic programming at all: it enumerates every warping path (global for
  NW-DTW, every sub-path for SW-DTW) and every diagonal, so it is exponential and only for tiny
  sequences; the tests check that ``reference_cost`` agrees with it.

``bench/alignment.py`` and the property tests check the fast implementation against these.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from training.alignment.core import AlignmentParams


def similarity_table(query: np.ndarray, candidate: np.ndarray) -> list[list[float]]:
    """s_ij = <query_i, candidate_j> as Python floats (float64), one dot product at a time."""
    query = np.asarray(query, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    return [[float(np.dot(q, t)) for t in candidate] for q in query]


def reference_cost(similarity: list[list[float]], method: str, params: AlignmentParams | None = None) -> float:
    params = params or AlignmentParams()
    n, m = len(similarity), len(similarity[0])
    cost = [[1.0 - similarity[i][j] for j in range(m)] for i in range(n)]
    if method == "trace":
        length = min(n, m)
        return sum(cost[i][i] for i in range(length)) / length
    if method == "best-trace":
        length = min(n, m)
        means = []
        for k in range(abs(n - m) + 1):
            if n <= m:
                means.append(sum(cost[i][i + k] for i in range(length)) / length)
            else:
                means.append(sum(cost[i + k][i] for i in range(length)) / length)
        return min(means)
    if method == "nw-dtw":
        g = params.nw_indel
        table = [[math.inf] * (m + 1) for _ in range(n + 1)]
        table[0][0] = 0.0
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                table[i][j] = cost[i - 1][j - 1] + min(table[i - 1][j - 1], table[i - 1][j] + g, table[i][j - 1] + g)
        return table[n][m] / max(n, m)
    if method == "sw-dtw":
        g, bias = params.sw_indel, params.sw_bias
        table = [[0.0] * (m + 1) for _ in range(n + 1)]
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                best = max(table[i - 1][j - 1], table[i - 1][j] - g, table[i][j - 1] - g)
                table[i][j] = max(0.0, (bias - cost[i - 1][j - 1]) + best)
        return -max(max(row) for row in table) / min(n, m)
    if method == "centroid":
        raise ValueError("the centroid cost needs the embeddings: use reference_centroid.")
    raise ValueError(f"unknown alignment method {method!r}")


def reference_centroid(query: np.ndarray, candidate: np.ndarray) -> float:
    dim = len(query[0])
    mean_q = [sum(float(row[d]) for row in query) / len(query) for d in range(dim)]
    mean_t = [sum(float(row[d]) for row in candidate) / len(candidate) for d in range(dim)]
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(mean_q, mean_t, strict=True)))


def reference_costs(
    rows: list[np.ndarray], cols: list[np.ndarray], method: str, params: AlignmentParams | None = None
) -> np.ndarray:
    """The (len(rows), len(cols)) cost matrix, one pair at a time."""
    out = np.empty((len(rows), len(cols)))
    for a, query in enumerate(rows):
        for b, candidate in enumerate(cols):
            if method == "centroid":
                out[a, b] = reference_centroid(query, candidate)
            else:
                out[a, b] = reference_cost(similarity_table(query, candidate), method, params)
    return out


# --- brute force: enumerate the paths themselves ---------------------------------------------------


def _paths(i: int, j: int, n: int, m: int) -> Iterator[list[tuple[int, int]]]:
    """Every monotone path of unit steps (1,1), (1,0), (0,1) from cell (i, j) to a cell (n-1, m-1) or earlier end."""
    yield [(i, j)]
    for di, dj in ((1, 1), (1, 0), (0, 1)):
        if i + di < n and j + dj < m:
            for rest in _paths(i + di, j + dj, n, m):
                yield [(i, j), *rest]


def _indels(path: list[tuple[int, int]]) -> int:
    return sum(1 for (a, b), (c, d) in itertools.pairwise(path) if (c - a) + (d - b) == 1)


def brute_force_cost(similarity: list[list[float]], method: str, params: AlignmentParams | None = None) -> float:
    """Exhaustive version of :func:`reference_cost` (tiny inputs only: the number of paths is exponential)."""
    params = params or AlignmentParams()
    n, m = len(similarity), len(similarity[0])

    def cost(cell: tuple[int, int]) -> float:
        return 1.0 - similarity[cell[0]][cell[1]]

    if method in ("trace", "best-trace"):
        length = min(n, m)
        diagonals = []
        for k in range(abs(n - m) + 1 if method == "best-trace" else 1):
            cells = [(i, i + k) if n <= m else (i + k, i) for i in range(length)]
            diagonals.append(sum(cost(c) for c in cells) / length)
        return min(diagonals)
    if method == "nw-dtw":
        g = params.nw_indel
        complete = [p for p in _paths(0, 0, n, m) if p[-1] == (n - 1, m - 1)]
        return min(sum(cost(c) for c in p) + g * _indels(p) for p in complete) / max(n, m)
    if method == "sw-dtw":
        g, bias = params.sw_indel, params.sw_bias
        best = 0.0
        for i in range(n):
            for j in range(m):
                for p in _paths(i, j, n, m):
                    best = max(best, sum(bias - cost(c) for c in p) - g * _indels(p))
        return -best / min(n, m)
    raise ValueError(f"unknown alignment method {method!r}")
