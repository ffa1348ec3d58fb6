"""Segment-alignment ranking at the Seg-VM-Net test size: 1,000 queries x 1,000 candidates.

Every item is a sequence of 9-15 segments (12 on average) of random 512-d unit embeddings. For each
method of training.alignment the script times the full 1,000 x 1,000 cost matrix (numba compilation
happens once on a tiny problem first and is reported apart), then checks the result against the slow
reference implementation (training/alignment/reference.py) on a seeded sample of queries against all
1,000 candidates: the costs must agree to 1e-9 and every query's ranking of the candidates must be
identical.

Targets (docs/retrieval.md): NW-DTW and SW-DTW <= 60 s each (Seg-VM-Net reports 12-74 min on a
6-core CPU), Trace and Best Trace <= 5 s. Run: ``python bench/alignment.py [--check-queries N]``.
The machine is shared, so the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.alignment import METHODS, AlignmentParams, Sequences, alignment_costs
from training.alignment.reference import reference_costs

TARGET_S = {"trace": 5.0, "best-trace": 5.0, "nw-dtw": 60.0, "sw-dtw": 60.0, "centroid": 5.0}
SEED_REPORTED = {"trace": "53 s-1 min 45 s", "best-trace": "1 min 32 s-3 min 51 s", "nw-dtw": "10-48 min"}
SEED_REPORTED["sw-dtw"] = "16 min-1 h 14 min"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def random_sequences(rng: np.random.Generator, count: int, dim: int, low: int, high: int) -> list[np.ndarray]:
    out = []
    for length in rng.integers(low, high + 1, size=count):
        x = rng.normal(size=(int(length), dim)).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--check-queries", type=int, default=10, help="queries checked against the reference")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    queries = random_sequences(rng, args.queries, args.dim, 9, 15)
    candidates = random_sequences(rng, args.candidates, args.dim, 9, 15)
    rows, cols = Sequences.from_list(queries), Sequences.from_list(candidates)
    params = AlignmentParams()
    print(
        f"{args.queries} queries x {args.candidates} candidates, {rows.lengths.mean():.1f} / "
        f"{cols.lengths.mean():.1f} segments on average (9-15), {args.dim}-d unit embeddings, params {params}"
    )
    print(f"before: {load()}")

    tiny = Sequences.from_list(queries[:2])
    started = time.perf_counter()
    for method in METHODS:
        alignment_costs(tiny, tiny, method, params)
    print(f"numba compilation / cache load: {time.perf_counter() - started:.1f} s (once per process)")

    check = np.sort(rng.choice(args.queries, size=min(args.check_queries, args.queries), replace=False))
    print(f"{'method':<12}{'time':>10}{'target':>10}{'seed (6-core CPU)':>24}   reference check ({len(check)} queries)")
    failures = 0
    for method in METHODS:
        started = time.perf_counter()
        costs = alignment_costs(rows, cols, method, params)
        elapsed = time.perf_counter() - started
        reference = reference_costs([queries[q] for q in check], candidates, method, params)
        max_error = float(np.max(np.abs(costs[check] - reference)))
        same_rankings = all(
            np.array_equal(np.argsort(costs[q], kind="stable"), np.argsort(reference[k], kind="stable"))
            for k, q in enumerate(check)
        )
        ok = max_error <= 1e-9 and same_rankings and elapsed <= TARGET_S[method]
        failures += not ok
        print(
            f"{method:<12}{elapsed:>9.2f}s{TARGET_S[method]:>9.0f}s{SEED_REPORTED.get(method, '-'):>24}   "
            f"max |fast - reference| = {max_error:.1e}, rankings {'identical' if same_rankings else 'DIFFER'}"
            f"{'' if ok else '   <-- FAILED'}"
        )
    print(f"after: {load()}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
