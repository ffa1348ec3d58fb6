"""Ranking by alignment of segment-embedding sequences (Seg-VM-Net, Prétet et al., §IV-D).

``alignment_costs(rows, cols, method)`` gives the cost of every (row item, column item) pair, lower
is better: ``trace``, ``best-trace``, ``nw-dtw``, ``sw-dtw`` and ``centroid`` (definitions in
:mod:`training.alignment.core` and docs/retrieval.md). :mod:`training.alignment.reference` holds the
slow, obviously-correct implementations the fast ones are tested against.
"""

from training.alignment.core import METHODS, AlignmentParams, Sequences, alignment_costs

__all__ = ["METHODS", "AlignmentParams", "Sequences", "alignment_costs"]
