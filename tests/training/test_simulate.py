from __future__ import annotations

import json

import pandas as pd

from training.data.export import read_export
from training.data.items import preference_items
from training.simulate import SimulatedRater, audio_energy, motion_energy, simulate_choices
from training.synthetic import PlantedRule, make_planted_export


def test_simulated_rater_on_real_media(tmp_path):
    make_planted_export(
        tmp_path / "source", PlantedRule(n_videos=6, n_tracks=4, trials_per_video=1, size=48), progress=False
    )
    out = simulate_choices(
        tmp_path / "source", tmp_path / "sim", SimulatedRater(trials_per_clip=30, seed=1), progress=False
    )
    export = read_export(out)
    # The stimuli are carried over untouched; every clip gets its trials.
    source = pd.read_csv(tmp_path / "source" / "stimuli.csv", dtype=str, keep_default_na=False)
    copied = pd.read_csv(out / "stimuli.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(source, copied)
    items = preference_items(export)
    assert len(items) == 6 * 30
    simulation = json.loads((out / "manifest.json").read_text())["simulation"]
    motion = {int(k): v for k, v in simulation["clip_motion_energy"].items()}
    # Odd clip ids pan across their texture, even ids stand still (training/synthetic.py).
    assert min(motion[i] for i in (1, 3, 5)) > 5 * max(motion[i] for i in (2, 4, 6))
    # The rater follows its taste: busy clips choose the livelier excerpt more often than calm clips do.
    lively = {1, 3}  # fast-high excerpts: brighter and more fluctuating
    a_lively, b_lively = items["a_id"].isin(lively), items["b_id"].isin(lively)
    chose_lively = a_lively.where(items["label"] == 1, b_lively)
    offered_both = a_lively != b_lively
    busy = items["query_id"] % 2 == 1
    assert chose_lively[offered_both & busy].mean() > 0.8
    assert chose_lively[offered_both & ~busy].mean() < 0.2


def test_descriptors_separate_the_planted_classes(tmp_path):
    make_planted_export(tmp_path, PlantedRule(n_videos=6, n_tracks=4, trials_per_video=1, size=48), progress=False)
    export = read_export(tmp_path)
    assert motion_energy(export.media_path("clip", 1)) > motion_energy(export.media_path("clip", 2))
    bright, fast = audio_energy(export.media_path("excerpt", 1))
    dark, slow = audio_energy(export.media_path("excerpt", 2))
    assert bright > dark and fast > slow
