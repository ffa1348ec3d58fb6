"""Training on inferred labels: the pipeline runs on them, and they shield the model from unreliable workers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from analysis.crowds import PlantedCrowd, planted_choices
from analysis.truth import infer_choices
from exportformat import read_export
from tests.training.fakes import planted_feature_export, standin_streams
from training.data.labels import inferred_items
from training.preference.data import PreferenceTensors
from training.preference.fit import FitSettings, evaluate, fit
from training.preference.model import PreferenceConfig, PreferenceNet
from training.preference.pipeline import PreferenceRunConfig, train_preference

CLIPS, EXCERPTS, DIM = 60, 30, 2
TEST_CLIPS = np.arange(45, 60)


def test_train_preference_runs_on_inferred_labels(tmp_path):
    export = planted_feature_export(tmp_path / "export", n_videos=24, trials_per_video=6, p_rule=0.9, seed=2)
    labels = infer_choices(read_export(export).choices, method="ds").items
    labels.to_csv(tmp_path / "labels.csv", index=False)
    config = PreferenceRunConfig(
        export=str(export),
        out=str(tmp_path / "run"),
        cache_dir=str(tmp_path / "cache"),
        epochs=5,
        patience=5,
        batch_size=16,
        labels=str(tmp_path / "labels.csv"),
    )
    summary = train_preference(config, streams=standin_streams(), progress=False, log=lambda *_: None)
    assert summary["labels"] == str(tmp_path / "labels.csv")
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    # One training item per distinct comparison of the training videos (not per raw answer).
    items = pd.read_csv(tmp_path / "run" / "items.csv")
    train = items[items["split"] == "train"]
    distinct = train.assign(lo=train[["a_id", "b_id"]].min(axis=1), hi=train[["a_id", "b_id"]].max(axis=1))
    assert summary["train_items"] <= distinct.drop_duplicates(["query_id", "lo", "hi"]).shape[0]
    assert summary["train_items"] > 0 and split["indices"]["test"]
    assert summary["test"]["n"] == len(split["indices"]["test"])  # tested on raw single answers


def _crowd(seed: int, reversed_share: float):
    """Planted crowd whose truth is learnable: the true option is the excerpt nearer the clip (2-D features)."""
    rng = np.random.default_rng(seed)
    clips, excerpts = rng.normal(size=(CLIPS, DIM)), rng.normal(size=(EXCERPTS, DIM))
    scores = -((clips[:, None, :] - excerpts[None, :, :]) ** 2).sum(-1)
    crowd = PlantedCrowd(
        items=1000,
        workers=30,
        answers_per_item=5,
        accuracy=(0.6, 0.9),
        spammer_share=reversed_share,
        spammer_kind="reversed",
        clips=CLIPS,
        excerpts=EXCERPTS,
        seed=seed,
    )
    choices, truth = planted_choices(crowd, scores=scores)
    return clips, excerpts, choices, truth


def _tensors(clips, excerpts, items: pd.DataFrame) -> PreferenceTensors:
    return PreferenceTensors(
        queries=torch.tensor(clips, dtype=torch.float32),
        options=torch.tensor(excerpts, dtype=torch.float32),
        query_index=torch.tensor(items["query_id"].to_numpy() - 100_001),
        a_index=torch.tensor(items["a_id"].to_numpy() - 200_001),
        b_index=torch.tensor(items["b_id"].to_numpy() - 200_001),
        labels=torch.tensor(items["label"].to_numpy(), dtype=torch.float32),
    )


def _truth_accuracy(seed: int, reversed_share: float) -> dict[str, float]:
    clips, excerpts, choices, truth = _crowd(seed, reversed_share)
    held_out = np.isin(choices["query_id"].to_numpy() - 100_001, TEST_CLIPS)
    answers = choices[~held_out]
    raw = pd.DataFrame(
        {
            "query_id": answers["query_id"].astype(int),
            "a_id": answers["left_id"].astype(int),
            "b_id": answers["right_id"].astype(int),
            "label": (answers["chosen_side"] == "left").astype(float),
            "experiment_id": 1,
            "direction": "V2M",
        }
    )
    inferred = inferred_items(raw, infer_choices(answers, method="ds").items)
    planted = truth["items"][np.isin(truth["items"]["query_id"] - 100_001, TEST_CLIPS)]
    test = _tensors(clips, excerpts, planted.assign(label=(planted["true_id"] == planted["a_id"]).astype(float)))
    accuracy = {}
    for name, items in (("raw", raw), ("inferred", inferred)):
        torch.manual_seed(seed)
        model = PreferenceNet(PreferenceConfig(query_dim=DIM, option_dim=DIM, embed_dim=32, hidden_dim=32, dropout=0.1))
        data = _tensors(clips, excerpts, items)
        settings = FitSettings(epochs=25, patience=25, batch_size=64, lr=3e-3)
        result = fit(model, data, data, settings, generator=torch.Generator().manual_seed(seed), progress=False)
        model.load_state_dict(result.best_state)
        accuracy[name] = evaluate(model, test).accuracy
    return accuracy


def test_planted_label_noise_hurts_raw_label_training_more_than_inferred_label_training():
    torch.set_num_threads(1)
    clean = [_truth_accuracy(seed, 0.0) for seed in (0, 1)]
    noisy = [_truth_accuracy(seed, 0.35) for seed in (0, 1)]  # 35 % of workers choose the worse fit

    def mean(runs, name):
        return float(np.mean([run[name] for run in runs]))

    raw_drop = mean(clean, "raw") - mean(noisy, "raw")
    inferred_drop = mean(clean, "inferred") - mean(noisy, "inferred")
    assert raw_drop > inferred_drop + 0.03
    assert mean(noisy, "inferred") > mean(noisy, "raw") + 0.03
    assert mean(noisy, "inferred") > 0.85
