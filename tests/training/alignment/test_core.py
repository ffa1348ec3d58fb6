"""The fast alignment costs agree with the slow references on random sequences (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.alignment import METHODS, AlignmentParams, Sequences, alignment_costs
from training.alignment.reference import brute_force_cost, reference_costs, similarity_table

SEQUENCE_METHODS = ("trace", "best-trace", "nw-dtw", "sw-dtw")


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@st.composite
def batches(draw, max_items: int = 5, max_length: int = 7):
    seed = draw(st.integers(0, 2**32 - 1))
    dim = draw(st.integers(1, 6))
    rows = draw(st.lists(st.integers(1, max_length), min_size=1, max_size=max_items))
    cols = draw(st.lists(st.integers(1, max_length), min_size=1, max_size=max_items))
    params = AlignmentParams(
        nw_indel=draw(st.floats(0, 2)), sw_indel=draw(st.floats(0, 2)), sw_bias=draw(st.floats(0, 2))
    )
    rng = np.random.default_rng(seed)
    unit = draw(st.booleans())
    make = (lambda n: _unit(rng, n, dim)) if unit else (lambda n: rng.normal(size=(n, dim)))
    return [make(n) for n in rows], [make(m) for m in cols], params


@settings(max_examples=60, deadline=None)
@given(batches())
def test_fast_costs_equal_the_reference_on_random_sequences(batch):
    rows, cols, params = batch
    for method in METHODS:
        fast = alignment_costs(Sequences.from_list(rows), Sequences.from_list(cols), method, params)
        slow = reference_costs(rows, cols, method, params)
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9, err_msg=method)


@settings(max_examples=40, deadline=None)
@given(batches(max_items=2, max_length=4))
def test_reference_dynamic_programmes_equal_exhaustive_path_search(batch):
    rows, cols, params = batch
    from training.alignment.reference import reference_cost

    for query in rows:
        for candidate in cols:
            table = similarity_table(query, candidate)
            for method in SEQUENCE_METHODS:
                assert reference_cost(table, method, params) == pytest.approx(
                    brute_force_cost(table, method, params), abs=1e-12
                ), method


@settings(max_examples=25, deadline=None)
@given(batches(max_items=4, max_length=6), st.integers(1, 40))
def test_chunking_and_a_custom_similarity_give_the_same_costs(batch, chunk):
    rows, cols, params = batch
    r, c = Sequences.from_list(rows), Sequences.from_list(cols)
    for method in SEQUENCE_METHODS:
        whole = alignment_costs(r, c, method, params)
        chunked = alignment_costs(r, c, method, params, chunk_entries=chunk)
        # The generic path (full similarity matrices) against the dot-product fast path.
        generic = alignment_costs(r, c, method, params, similarity=lambda a, b: a @ b.T, chunk_entries=chunk)
        np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(generic, whole, rtol=1e-9, atol=1e-9)


def test_an_item_matches_itself_best_and_alignments_forgive_edits_that_trace_does_not():
    rng = np.random.default_rng(0)
    items = [_unit(rng, 10, 32) for _ in range(30)]
    sequences = Sequences.from_list(items)
    for method in METHODS:
        costs = alignment_costs(sequences, sequences, method)
        assert np.all(np.argmin(costs, axis=1) == np.arange(30)), method
    # Drop the first three segments of every query: Trace now compares shifted segments.
    cropped = Sequences.from_list([x[3:] for x in items])
    ranks = {
        method: np.argmin(alignment_costs(cropped, sequences, method), axis=1) == np.arange(30)
        for method in ("trace", "best-trace", "sw-dtw")
    }
    assert ranks["trace"].mean() < 0.2
    assert ranks["best-trace"].all() and ranks["sw-dtw"].all()
    # Repeat every other segment of every candidate (a slowed-down target): only the DTWs follow.
    stretched = Sequences.from_list([np.repeat(x, [2, 1] * 5, axis=0) for x in items])
    for method, expected in (("trace", False), ("nw-dtw", True), ("sw-dtw", True)):
        hits = np.argmin(alignment_costs(sequences, stretched, method), axis=1) == np.arange(30)
        assert hits.all() == expected, method


def test_bad_input_is_refused_with_a_clear_message():
    a = Sequences.from_list([np.ones((2, 3))])
    with pytest.raises(ValueError, match="alignment method"):
        alignment_costs(a, a, "viterbi")
    with pytest.raises(ValueError, match="dimension"):
        alignment_costs(a, Sequences.from_list([np.ones((2, 4))]), "trace")
    with pytest.raises(ValueError, match="at least one segment"):
        Sequences.from_list([np.ones((0, 3))])
    with pytest.raises(ValueError, match="nw_indel"):
        AlignmentParams(nw_indel=-1)
