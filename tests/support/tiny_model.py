"""A randomly initialised, published retrieval model for tests (no Django): montages and supervision."""

from __future__ import annotations

from pathlib import Path


def publish_tiny_model(
    export_dir: Path, models_dir: Path, *, name: str = "tiny", version: str = "1", cache_dir: Path | None = None
) -> str:
    """A randomly initialised clip-level retrieval model (colour video, handcrafted audio), published."""
    import torch

    from training.alignment import AlignmentParams
    from training.representations import build_representation
    from training.retrieval.av_runs import save_av_run
    from training.retrieval.model import RetrievalConfig
    from training.retrieval.protocol import Aggregation
    from training.retrieval.publish import publish_model
    from training.retrieval.trainer import RetrievalModel

    torch.manual_seed(0)
    video = build_representation("colour", modality="video").dim
    audio = build_representation("handcrafted", modality="audio").dim
    model = RetrievalModel(
        RetrievalConfig(video_dim=video, music_dim=audio, video_layers=(8,), music_layers=(8,)), loss="vmnet"
    ).eval()
    run = models_dir.parent / f"run-{name}-{version}"
    save_av_run(
        run,
        model=model,
        audio="handcrafted",
        video="colour",
        backbones={},
        level="clip",
        method="trace",
        aggregation=Aggregation(clip="mean", segment="mean"),
        alignment_params=AlignmentParams(),
        median_segment_s=None,
        metrics=[],
    )
    publish_model(
        run,
        name=name,
        version=version,
        export_dir=export_dir,
        models_dir=models_dir,
        cache_dir=cache_dir,
        progress=False,
    )
    return f"{name}@{version}"
