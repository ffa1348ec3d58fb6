"""What the CLI's command modules share: the default feature cache and a run's recorded extractors.

Its own module so that command modules (``training/retrieval/commands.py``) need not import ``training.cli``,
which imports them to register their subcommands.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from training.errors import TrainingInputError

DEFAULT_CACHE = "feature-cache"


def default_cache_dir() -> str:
    # The platform's data directory when configured (same env var as webapp/settings.py), else ./data.
    return str(Path(os.environ.get("MVFIT_DATA_DIR", "data")) / DEFAULT_CACHE)


def recorded_streams(payload: dict, args: argparse.Namespace):
    """Rebuild the extractors a run was trained with (weights paths may be overridden if files moved)."""
    from training.features.extractors import BackboneSettings, build_streams

    recorded = dict(payload["config"].get("backbones") or {})
    if not recorded:
        raise TrainingInputError("this run does not record its backbone settings (written by an older version).")
    variant = payload["config"]["run"]["variant"]
    if variant == "i3d" and any(s["name"] == "rgb" for s in payload["config"]["streams"]):
        variant = "rgb-i3d"  # runs from before the seed's flow-only I3D variant existed
    for key, flag in (
        ("resnet50", "resnet50_weights"),
        ("i3d_flow", "i3d_flow_weights"),
        ("vggish", "vggish_weights"),
        ("vggish_pca", "vggish_pca_weights"),
    ):
        if getattr(args, flag, None):
            recorded[key] = getattr(args, flag)
    for key in ("device", "precision"):
        if getattr(args, key, None):
            recorded[key] = getattr(args, key)
    return build_streams(variant, BackboneSettings.from_dict(recorded))
