"""Per-video extraction jobs: disjoint shards that cover the library, idempotent runs, the Celery task."""

import pytest

from tests.training.fakes import planted_feature_export, standin_streams
from training.cli import main
from training.data.export import read_export
from training.errors import TrainingInputError
from training.features.cache import FeatureCache
from training.features.extractors import BackboneSettings
from training.features.jobs import plan_jobs, run_job, run_jobs, shard
from training.synthetic import PlantedRule, make_planted_export


def test_shards_are_disjoint_cover_every_file_and_rerunning_computes_nothing(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=10, n_tracks=6))
    jobs = plan_jobs(export, variant="two-stream", settings={}, cache_dir=str(tmp_path / "cache"))
    assert len(jobs) == 16 and {j.item_kind for j in jobs} == {"clip", "excerpt"}
    parts = [shard(jobs, k, 3) for k in range(3)]
    assert sorted(j.item_id for part in parts for j in part if j.item_kind == "clip") == list(range(1, 11))
    assert sum(len(p) for p in parts) == len(jobs)
    streams, cache = standin_streams(), FeatureCache(tmp_path / "cache")
    computed = [run_jobs(part, streams, cache, progress=False)[1] for part in parts]
    assert sum(computed) == 16  # one stream per kind here: one entry per file
    assert run_jobs(jobs, streams, cache, progress=False) == (16, 0)  # everything cached: nothing recomputed
    assert sum(s.extractor.calls for s in streams) == 16
    with pytest.raises(TrainingInputError, match="0 <= K < N"):
        shard(jobs, 3, 3)


def test_a_job_for_a_missing_file_is_a_clear_error(tmp_path):
    export = read_export(planted_feature_export(tmp_path / "export", n_videos=6, n_tracks=4))
    [job] = [
        j for j in plan_jobs(export, variant="two-stream", settings={}, cache_dir=str(tmp_path)) if j.item_id == 1
    ][:1]
    (tmp_path / "export" / "media" / "clip1.npy").unlink()
    with pytest.raises(TrainingInputError, match="does not exist"):
        run_job(job, standin_streams(), FeatureCache(tmp_path / "cache"))


@pytest.mark.slow
def test_the_celery_task_fills_the_same_cache_as_the_cli(tmp_path, capsys):
    """The platform's worker task (annotation.tasks, run eagerly here) and the CLI share one cache."""
    from annotation.tasks import extract_media_features

    export_dir = make_planted_export(tmp_path / "export", PlantedRule(n_videos=6, n_tracks=4, size=32), progress=False)
    cache = tmp_path / "cache"
    flags = [
        "--random-init",
        "--frame-size",
        "32",
        "--flow-method",
        "farneback",
        "--device",
        "cpu",
        "--precision",
        "fp32",
    ]
    assert main(["extract-features", "--export", str(export_dir), "--kinds", "excerpt", "--shard", "0/2",
                 "--cache-dir", str(cache), "--quiet", *flags]) == 0  # fmt: skip
    assert "shard 0/2: 2 media files, 2 new cache entries" in capsys.readouterr().out
    settings = BackboneSettings(
        random_init=True, frame_size=32, flow_method="farneback", device="cpu", precision="fp32"
    )
    export = read_export(export_dir)
    jobs = plan_jobs(export, variant="i3d", settings=settings.to_dict(), cache_dir=str(cache), kinds=("excerpt",))
    results = [extract_media_features.apply(args=[job.to_dict()]).get() for job in shard(jobs, 1, 2)]
    assert [r["computed"] for r in results] == [1, 1]  # shard 1 was not done yet
    again = [extract_media_features.apply(args=[job.to_dict()]).get() for job in jobs]
    assert [r["computed"] for r in again] == [0, 0, 0, 0]  # both shards' entries are in the one cache
