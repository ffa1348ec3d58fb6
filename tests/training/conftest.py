"""Fixtures shared by the retrieval-research tests: a small library of planted music videos on disk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.retrieval.planted import PlantedConfig, plan, write_planted_export


@pytest.fixture(scope="session")
def planted_av(tmp_path_factory):
    """(export directory, {clip id: true change points}) of 10 planted music videos: 5 sources x 2 re-edits."""
    directory = tmp_path_factory.mktemp("planted-av") / "export"
    write_planted_export(
        directory, plan(PlantedConfig(groups=5, group_size=2, segments=(4, 6), seed=3)), progress=False
    )
    boundaries = json.loads((directory / "manifest.json").read_text())["simulation"]["boundaries"]
    return directory, {int(k): np.asarray(v) for k, v in boundaries.items()}
