"""``python -m training table1``: variants x seeds on one export, mean ± sd, pooled Wilson CI, exact McNemar."""

import json

import numpy as np
import pytest

from mvfit_common.stats import wilson_interval
from tests.training.fakes import NpyExtractor, planted_feature_export
from training.features.store import Stream
from training.preference.pipeline import PreferenceRunConfig
from training.preference.table1 import format_table1, run_table1


class BlindExtractor(NpyExtractor):
    """The planted class dimension removed: a variant that can only guess."""

    def extract(self, path):
        array = super().extract(path).copy()
        array[:, 0] = 0.0
        return array


def streams():
    audio = Stream("audio", "excerpt", NpyExtractor("fake-audio", 6))
    return {
        "two-stream": [Stream("rgb", "clip", NpyExtractor("fake-rgb", 8)), audio],
        "i3d": [Stream("flow", "clip", BlindExtractor("fake-blind", 8)), audio],
    }


@pytest.fixture
def export(tmp_path):
    return planted_feature_export(tmp_path / "export", n_videos=40, trials_per_video=6)


def base(export, out, cache) -> PreferenceRunConfig:
    return PreferenceRunConfig(
        export=str(export),
        out=str(out),
        epochs=40,
        patience=10,
        batch_size=32,
        lr=3e-3,
        cache_dir=str(cache),
        device="cpu",
    )


def test_table_over_seeds_with_pooled_interval_and_paired_test(export, tmp_path):
    table = run_table1(
        base(export, tmp_path / "t1", tmp_path / "cache"),
        variants=["two-stream", "i3d"],
        seeds=[0, 1, 2],
        streams=streams(),
        progress=False,
        log=lambda *_: None,
    )
    informed, blind = table.rows
    assert len(informed.accuracies) == 3 and informed.mean > 0.9 and blind.mean < 0.75
    assert informed.n == blind.n == sum(table.test_sizes)
    assert informed.sd == pytest.approx(np.std(informed.accuracies, ddof=1))
    assert informed.interval == wilson_interval(informed.correct, informed.n)
    [paired] = table.paired
    assert paired.only_first > paired.only_second and paired.p_value < 1e-3
    text = format_table1(table)
    assert "Random guessing" in text and "Two-stream ResNet50" in text and "exact McNemar" in text
    assert "Human ceiling" not in text
    saved = json.loads((tmp_path / "t1" / "table1.json").read_text())
    assert saved["variants"][0]["accuracy_per_seed"] == informed.accuracies


def test_finished_runs_are_read_back_and_an_exported_ceiling_is_printed(export, tmp_path):
    config = base(export, tmp_path / "t1", tmp_path / "cache")
    first = run_table1(
        config, variants=["two-stream", "i3d"], seeds=[0, 1], streams=streams(), progress=False, log=print
    )
    manifest = json.loads((export / "manifest.json").read_text())
    (export / "manifest.json").write_text(
        json.dumps({**manifest, "human_ceiling": {"accuracy": 0.81, "method": "test-retest"}})
    )
    trained = []
    again = run_table1(
        config, variants=["two-stream", "i3d"], seeds=[0, 1], streams=streams(), progress=False, log=trained.append
    )
    assert trained == []  # nothing retrained
    assert [r.accuracies for r in again.rows] == [r.accuracies for r in first.rows]
    assert "Human ceiling (test-retest)" in format_table1(again) and "81.0 %" in format_table1(again)


def test_one_seed_is_not_a_protocol(export, tmp_path):
    from training.errors import TrainingInputError

    with pytest.raises(TrainingInputError, match="at least 2 seeds"):
        run_table1(base(export, tmp_path / "t", tmp_path / "c"), variants=["two-stream"], seeds=[0], streams=streams())


def test_a_ceiling_file_from_the_agreement_analysis_is_printed_next_to_the_models(export, tmp_path):
    config = base(export, tmp_path / "t1", tmp_path / "cache")
    ceiling = tmp_path / "human_ceiling.json"
    ceiling.write_text(json.dumps({"accuracy": 0.734, "low": 0.7, "high": 0.77, "method": "between-subject agreement"}))
    table = run_table1(
        config,
        variants=["two-stream"],
        seeds=[0, 1],
        streams=streams(),
        progress=False,
        log=lambda *_: None,
        human_ceiling=ceiling,
    )
    assert "Human ceiling (between-subject agreement) 73.4 %" in format_table1(table)
    ceiling.write_text("{not json")
    from training.errors import TrainingInputError

    with pytest.raises(TrainingInputError, match="not a readable JSON"):
        run_table1(config, variants=["two-stream"], seeds=[0, 1], streams=streams(), human_ceiling=ceiling)
