"""publish-model for a train-retrieval run (VM-NET, clip level) and the registry's checks."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.training.fakes import planted_feature_export, standin_streams
from training.errors import TrainingInputError
from training.registry import RegistryError, read_manifest
from training.retrieval.pipeline import RetrievalRunConfig, model_version, train_retrieval
from training.retrieval.publish import publish_model


@pytest.fixture(scope="module")
def vmnet_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    planted_feature_export(root / "export", n_videos=12, n_tracks=4, trials_per_video=1, ground_truth=True, seed=1)
    config = RetrievalRunConfig(
        export=str(root / "export"),
        out=str(root / "run"),
        cache_dir=str(root / "cache"),
        video_layers=(16, 8),
        music_layers=(16, 8),
        epochs=3,
        batch_size=8,
        dropout=0.0,
    )
    train_retrieval(config, streams=standin_streams(), progress=False, log=lambda *_: None)
    return root


def test_a_train_retrieval_run_publishes_its_full_rankings(vmnet_run):
    models = vmnet_run / "models"
    target = publish_model(
        vmnet_run / "run", name="vmnet", models_dir=models, streams=standin_streams(), progress=False
    )
    version = model_version(vmnet_run / "run")
    assert target.name == version.rsplit("@", 1)[1]  # default version: the checkpoint's sha256 prefix
    directory, manifest = read_manifest(models, "vmnet", target.name)
    assert manifest["model_version"] == version and manifest["level"] == "clip"
    assert manifest["clips"] == 12 and manifest["excerpts"] == 16
    rankings = pd.read_csv(directory / "rankings.csv")
    # Every candidate, not a top-N: a design can always skip the ground truth.
    assert rankings[rankings["query_kind"] == "clip"].groupby("query_id").size().eq(16).all()
    assert rankings[rankings["query_kind"] == "excerpt"].groupby("query_id").size().eq(12).all()


def test_registry_refuses_bad_names_missing_models_and_other_checkpoints(vmnet_run, tmp_path):
    with pytest.raises(TrainingInputError, match="model name"):
        publish_model(vmnet_run / "run", name="../up", models_dir=tmp_path, streams=standin_streams(), progress=False)
    with pytest.raises(TrainingInputError, match="needs the streams"):
        publish_model(vmnet_run / "run", name="vmnet", models_dir=tmp_path, progress=False)
    with pytest.raises(TrainingInputError, match="is missing"):
        publish_model(tmp_path / "nothing", name="vmnet", models_dir=tmp_path, progress=False)
    with pytest.raises(RegistryError, match="is not published"):
        read_manifest(tmp_path, "vmnet", "1")
    assert not list(tmp_path.glob("vmnet/*"))  # nothing half-written
