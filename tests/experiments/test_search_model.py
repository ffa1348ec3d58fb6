"""A published retrieval model as the preference test's search source: ``model:<name>@<version>``."""

from __future__ import annotations

import csv
import json

import pytest

from experiments.design.config import DesignError, validate_config
from experiments.models import Item
from tests.factories.experiments import make_experiment, make_library

pytestmark = pytest.mark.django_db


def publish(models_dir, name: str, version: str, rows: list[list]) -> None:
    """What ``python -m training publish-model`` leaves in the registry (tests/training/retrieval/test_compare.py)."""
    directory = models_dir / name / version
    directory.mkdir(parents=True)
    with (directory / "rankings.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_kind", "query_id", "candidate_id", "rank", "score", "model_version"])
        writer.writerows(rows)
    manifest = {"format": "mvfit-model", "format_version": 1, "name": name, "version": version}
    (directory / "model.json").write_text(json.dumps({**manifest, "model_version": "seg-vmnet:run@0123456789ab"}))


def test_s_items_record_the_model_and_the_rank_it_came_from(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    library = make_library(n_clips=4, n_excerpts=4, music_videos=4)
    clips, excerpts = library.clip_ids, library.excerpt_ids
    rows = []
    for i, clip in enumerate(clips):
        # Ground truth first: S must skip it and take the model's rank 2.
        rows += [["clip", clip, excerpts[i], 1, -0.1, "v"], ["clip", clip, excerpts[(i + 1) % 4], 2, -0.2, "v"]]
    for i, excerpt in enumerate(excerpts):
        rows += [["excerpt", excerpt, clips[(i + 3) % 4], 1, -0.1, "v"]]
    publish(tmp_path / "models", "seg-vmnet", "3", rows)
    experiment = make_experiment(
        kind="preference",
        library=library,
        config={"conditions": ["GS", "SR"], "search": {"kind": "model", "name": "seg-vmnet", "version": 3}},
        judgments_per_item=1,
        trials_per_assignment=4,
        catch_trials_per_assignment=0,
    )
    assert experiment.config["search"] == {"kind": "model", "name": "seg-vmnet", "version": "3"}
    items = list(Item.objects.filter(experiment=experiment).select_related("first_pairing", "second_pairing"))
    assert len(items) == 16
    for item in items:
        assert item.search_source == "model:seg-vmnet@3"
        s_pairing = item.second_pairing if item.condition == "GS" else item.first_pairing
        if item.direction == "V2M":
            assert s_pairing.excerpt_id == excerpts[(clips.index(item.query_clip_id) + 1) % 4]
            assert item.search_rank == 2
        else:
            assert s_pairing.clip_id == clips[(excerpts.index(item.query_excerpt_id) + 3) % 4]
            assert item.search_rank == 1


def test_a_model_that_is_not_published_is_a_design_error(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    library = make_library(n_clips=2, n_excerpts=2, music_videos=2)
    with pytest.raises(DesignError, match=r"model vmnet@9 is not published .*publish-model"):
        make_experiment(
            kind="preference", library=library, config={"search": {"kind": "model", "name": "vmnet", "version": "9"}}
        )
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "search",
    [
        {"kind": "model", "name": "../etc", "version": "1"},
        {"kind": "model", "name": "vmnet"},
        {"kind": "model", "name": "vmnet", "version": "1", "path": "x.csv"},
        {"kind": "model", "name": "vmnet", "version": True},
    ],
)
def test_model_sources_need_a_safe_name_and_version(search):
    with pytest.raises(DesignError, match="a model search source is"):
        validate_config("preference", {"search": search})
