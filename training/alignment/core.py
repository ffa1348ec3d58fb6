"""Alignment costs between sequences of segment embeddings, vectorised (numpy) and compiled (numba).

Every method turns the pairwise similarities s_ij of row item segments i and column item segments j
(the dot product of unit embeddings, i.e. their cosine similarity, unless a ``similarity`` function
is given) into one cost per pair of items, lower meaning a better match; candidates are ranked by
increasing cost. With c_ij = 1 - s_ij (0 for identical segments, 2 for opposite ones), n and m the
two sequence lengths and L = min(n, m):

``trace``
    mean of c_ii over i < L: both sequences start together and segment i meets segment i.
``best-trace``
    the smallest such mean over every diagonal on which the shorter sequence lies entirely within
    the longer one (offsets 0 … |n - m|).
``nw-dtw``
    global dynamic time warping in the spirit of Needleman-Wunsch: D(i, j) = c_ij + min(D(i-1, j-1),
    D(i-1, j) + g, D(i, j-1) + g) from the first pair of segments to the last, g the indel cost
    (``nw_indel``); cost D(n, m) / max(n, m).
``sw-dtw``
    local alignment in the spirit of Smith-Waterman: H(i, j) = max(0, b - c_ij + max(H(i-1, j-1),
    H(i-1, j) - g, H(i, j-1) - g)) with H = 0 outside the matrix, g = ``sw_indel`` and b =
    ``sw_bias`` (b = 1 scores a cell by its similarity s_ij); cost -max H / L.
``centroid``
    Euclidean distance between the means of the two sequences (Seg-VM-Net's best cluster
    aggregation; it ignores the order of the segments).

The seed writes Trace as a sum; dividing by the number of terms compares candidates of different
lengths fairly and ranks exactly like the sum when every length is equal (the vanilla scenario with
one segmentation for both modalities). All arithmetic is float64.

Speed: Trace and Best Trace with dot-product similarity never form the full similarity matrices —
items are grouped by length and each diagonal of a (query length, candidate length) block is one
matrix product over the concatenated aligned segments. The DTW variants need every s_ij: rows are
processed in chunks, the similarities of a chunk against all columns come from one matrix product,
and a numba kernel runs the dynamic programme of every pair in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit, prange
from scipy.spatial.distance import cdist

METHODS = ("trace", "best-trace", "nw-dtw", "sw-dtw", "centroid")
_CODES = {"trace": 0, "best-trace": 1, "nw-dtw": 2, "sw-dtw": 3}

Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AlignmentParams:
    """Indel costs and the local-alignment bias (the seed's grid-searched values are not published)."""

    nw_indel: float = 0.1
    sw_indel: float = 0.3
    sw_bias: float = 1.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Sequences:
    """A batch of variable-length sequences: item k is ``data[offsets[k]:offsets[k + 1]]``."""

    data: np.ndarray  # (total segments, dim) float64, C-contiguous
    offsets: np.ndarray  # (items + 1,) int64, offsets[0] == 0

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(f"sequence data must be (segments, dim), got shape {self.data.shape}.")
        if self.offsets.ndim != 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.data):
            raise ValueError("offsets must start at 0 and end at the number of segments.")
        if np.any(np.diff(self.offsets) < 1):
            raise ValueError("every sequence needs at least one segment.")

    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray]) -> Sequences:
        if len(arrays) == 0:
            raise ValueError("no sequences given.")
        arrays = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in arrays]
        dims = {a.shape[1] for a in arrays}
        if len(dims) != 1:
            raise ValueError(f"all sequences need the same dimension, got {sorted(dims)}.")
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        if np.any(lengths < 1):
            raise ValueError("every sequence needs at least one segment.")
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return cls(np.ascontiguousarray(np.concatenate(arrays, axis=0)), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def dim(self) -> int:
        return int(self.data.shape[1])

    def item(self, k: int) -> np.ndarray:
        return self.data[self.offsets[k] : self.offsets[k + 1]]

    def items(self) -> list[np.ndarray]:
        return [self.item(k) for k in range(len(self))]

    def means(self) -> np.ndarray:
        sums = np.add.reduceat(self.data, self.offsets[:-1], axis=0)
        return sums / self.lengths[:, None]


def alignment_costs(
    rows: Sequences,
    cols: Sequences,
    method: str,
    params: AlignmentParams | None = None,
    *,
    similarity: Similarity | None = None,
    chunk_entries: int = 1 << 23,
) -> np.ndarray:
    """(len(rows), len(cols)) float64 costs of ``method`` between every row item and column item.

    ``similarity(a, b)`` maps segment embeddings (p, dim) and (q, dim) to their (p, q) similarities;
    the default is the dot product. ``chunk_entries`` bounds the similarity block held in memory.
    """
    if method not in METHODS:
        raise ValueError(f"alignment method must be one of {', '.join(METHODS)}, not {method!r}.")
    if rows.dim != cols.dim:
        raise ValueError(f"row embeddings have dimension {rows.dim}, column embeddings {cols.dim}.")
    params = params or AlignmentParams()
    if method == "centroid":
        return cdist(rows.means(), cols.means())
    if similarity is None and method in ("trace", "best-trace"):
        return _diagonal_costs_by_length(rows, cols, best=method == "best-trace")
    return _dynamic_costs(rows, cols, _CODES[method], params, similarity, chunk_entries)


def _diagonal_costs_by_length(rows: Sequences, cols: Sequences, *, best: bool) -> np.ndarray:
    """Trace / Best Trace with dot products: one matrix product per diagonal of each length block.

    Items of one length are stacked as rows of length x dim values, so the L aligned segments of a
    diagonal are a contiguous range of columns and BLAS reads them in place (no copies).
    """
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    row_lengths, col_lengths = rows.lengths, cols.lengths
    dim = rows.dim
    row_groups = {int(n): np.flatnonzero(row_lengths == n) for n in np.unique(row_lengths)}
    col_groups = {int(m): np.flatnonzero(col_lengths == m) for m in np.unique(col_lengths)}
    row_flat = {n: _stack(rows, index, n).reshape(len(index), n * dim) for n, index in row_groups.items()}
    col_flat = {m: _stack(cols, index, m).reshape(len(index), m * dim) for m, index in col_groups.items()}
    for n, row_index in row_groups.items():
        for m, col_index in col_groups.items():
            length = min(n, m)
            block = None
            for k in range(abs(n - m) + 1) if best else range(1):
                r0, c0 = (0, k) if n <= m else (k, 0)
                a = row_flat[n][:, r0 * dim : (r0 + length) * dim]
                b = col_flat[m][:, c0 * dim : (c0 + length) * dim]
                cost = 1.0 - (a @ b.T) / length
                block = cost if block is None else np.minimum(block, cost)
            out[np.ix_(row_index, col_index)] = block
    return out


def _stack(sequences: Sequences, index: np.ndarray, length: int) -> np.ndarray:
    starts = sequences.offsets[index]
    return sequences.data[starts[:, None] + np.arange(length)[None, :]]  # (items, length, dim)


def _dynamic_costs(
    rows: Sequences,
    cols: Sequences,
    code: int,
    params: AlignmentParams,
    similarity: Similarity | None,
    chunk_entries: int,
) -> np.ndarray:
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    total_cols = len(cols.data)
    max_rows = max(int(rows.lengths.max()), chunk_entries // max(total_cols, 1))
    start = 0
    while start < len(rows):
        # As many row items as fit in the chunk (at least one).
        stop = start + 1
        while stop < len(rows) and rows.offsets[stop + 1] - rows.offsets[start] <= max_rows:
            stop += 1
        segment_rows = rows.data[rows.offsets[start] : rows.offsets[stop]]
        if similarity is None:
            block = segment_rows @ cols.data.T
        else:
            block = np.asarray(similarity(segment_rows, cols.data), dtype=np.float64)
            if block.shape != (len(segment_rows), total_cols):
                raise ValueError(
                    f"similarity returned shape {block.shape}, expected {(len(segment_rows), total_cols)}."
                )
        local_offsets = rows.offsets[start : stop + 1] - rows.offsets[start]
        _pair_kernel(
            np.ascontiguousarray(block),
            local_offsets,
            cols.offsets,
            code,
            float(params.nw_indel),
            float(params.sw_indel),
            float(params.sw_bias),
            out[start:stop],
        )
        start = stop
    return out


@njit(cache=True, nogil=True)
def _trace(similarity, r0, n, c0, m, best):
    length = min(n, m)
    shifts = abs(n - m) + 1 if best else 1
    lowest = np.inf
    for k in range(shifts):
        dr = k if n > m else 0
        dc = k if n <= m else 0
        total = 0.0
        for i in range(length):
            total += 1.0 - similarity[r0 + dr + i, c0 + dc + i]
        value = total / length
        if value < lowest:
            lowest = value
    return lowest


@njit(cache=True, nogil=True)
def _nw_dtw(similarity, r0, n, c0, m, indel, previous, current):
    previous[0] = 0.0
    for j in range(1, m + 1):
        previous[j] = np.inf
    for i in range(1, n + 1):
        current[0] = np.inf
        for j in range(1, m + 1):
            best = previous[j - 1]
            up = previous[j] + indel
            if up < best:
                best = up
            left = current[j - 1] + indel
            if left < best:
                best = left
            current[j] = (1.0 - similarity[r0 + i - 1, c0 + j - 1]) + best
        for j in range(m + 1):
            previous[j] = current[j]
    return previous[m] / max(n, m)


@njit(cache=True, nogil=True)
def _sw_dtw(similarity, r0, n, c0, m, indel, bias, previous, current):
    for j in range(m + 1):
        previous[j] = 0.0
    highest = 0.0
    for i in range(1, n + 1):
        current[0] = 0.0
        for j in range(1, m + 1):
            best = previous[j - 1]
            up = previous[j] - indel
            if up > best:
                best = up
            left = current[j - 1] - indel
            if left > best:
                best = left
            value = (bias - (1.0 - similarity[r0 + i - 1, c0 + j - 1])) + best
            if value < 0.0:
                value = 0.0
            current[j] = value
            if value > highest:
                highest = value
        for j in range(m + 1):
            previous[j] = current[j]
    return -highest / min(n, m)


@njit(parallel=True, cache=True)
def _pair_kernel(similarity, row_offsets, col_offsets, code, nw_indel, sw_indel, sw_bias, out):
    n_rows = row_offsets.size - 1
    n_cols = col_offsets.size - 1
    longest = 0
    for c in range(n_cols):
        longest = max(longest, col_offsets[c + 1] - col_offsets[c])
    for q in prange(n_rows):
        previous = np.empty(longest + 1)
        current = np.empty(longest + 1)
        r0 = row_offsets[q]
        n = row_offsets[q + 1] - r0
        for c in range(n_cols):
            c0 = col_offsets[c]
            m = col_offsets[c + 1] - c0
            if code == 0:
                out[q, c] = _trace(similarity, r0, n, c0, m, False)
            elif code == 1:
                out[q, c] = _trace(similarity, r0, n, c0, m, True)
            elif code == 2:
                out[q, c] = _nw_dtw(similarity, r0, n, c0, m, nw_indel, previous, current)
            else:
                out[q, c] = _sw_dtw(similarity, r0, n, c0, m, sw_indel, sw_bias, previous, current)
