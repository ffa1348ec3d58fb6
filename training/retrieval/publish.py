"""Publishing a trained retrieval model as a search source of the platform: ``model:<name>@<version>``.

``publish-model`` ranks every clip against every excerpt of an export (and the reverse) with a saved
model — a ``train-retrieval`` run (VM-NET, clip level) or a model saved by ``retrieval-compare``
(clip or segment level) — and writes the result into the model registry::

    <models dir>/<name>/<version>/model.json     what was published (format below)
    <models dir>/<name>/<version>/rankings.csv   query_kind,query_id,candidate_id,rank,score,model_version

The models directory is ``$MVFIT_DATA_DIR/models`` (``data/models`` without the variable), the same
place the web app looks. A preference experiment then names the model instead of a file:
``"search": {"kind": "model", "name": "vmnet", "version": "3"}``, and each S item records
``model:vmnet@3`` and the rank it came from. A published version is never overwritten.

``model.json``: ``format`` ("mvfit-model"), ``format_version`` (1), ``name``, ``version``,
``model_version`` (the exact weights: ``<kind>:<run name>@<sha256 prefix of the checkpoint>``),
``level`` (``clip`` or the segmenter), ``ranking`` (the method), ``run`` and ``export`` (paths),
``clips``, ``excerpts`` and ``published_at`` (UTC, ISO 8601).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mvfit_common.files import atomic_write_bytes
from training.errors import TrainingInputError
from training.registry import MODEL_FORMAT, valid_name, version_directory
from training.runs import load_checkpoint


def default_models_dir() -> Path:
    return Path(os.environ.get("MVFIT_DATA_DIR", "data")) / "models"


def check_name(value: str, what: str) -> str:
    if not valid_name(value):
        raise TrainingInputError(
            f"model {what} {value!r} must be 1-64 characters of [A-Za-z0-9._-], starting alphanumeric."
        )
    return value


def run_kind(run_dir: str | Path) -> str:
    """``mvfit-retrieval`` (train-retrieval) or ``mvfit-av-retrieval`` (retrieval-compare)."""
    path = Path(run_dir) / "checkpoint.pt"
    for kind in ("mvfit-av-retrieval", "mvfit-retrieval"):
        try:
            load_checkpoint(path, expected_format=kind)
            return kind
        except TrainingInputError as exc:
            if "is missing" in str(exc) or "not a readable" in str(exc):
                raise
    raise TrainingInputError(f"{path} is not a retrieval model (train-retrieval run or retrieval-compare model).")


def publish_model(
    run_dir: str | Path,
    *,
    name: str,
    version: str | None = None,
    export_dir: str | Path | None = None,
    models_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    media_root: str | Path | None = None,
    streams=None,
    progress: bool = True,
) -> Path:
    """Rank the export's stimuli with the run and register the result; returns the version directory.

    ``streams`` (the backbone streams a ``train-retrieval`` run was trained with) is needed for those runs.
    """
    from training.runs import read_json

    run_dir = Path(run_dir)
    kind = run_kind(run_dir)
    check_name(name, "name")
    models_dir = Path(models_dir) if models_dir else default_models_dir()
    if kind == "mvfit-av-retrieval":
        from training.retrieval.av_runs import av_model_version, rank_export_items

        if export_dir is None:
            raise TrainingInputError("--export is needed: which library's clips and excerpts should the model rank?")
        model_version = av_model_version(run_dir)
        config = read_json(run_dir / "config.json")
        level = config["level"] if isinstance(config["level"], str) else config["level"]["name"]
        ranking = "clip" if level == "clip" else config["method"]
    else:
        from training.retrieval.pipeline import model_version as clip_model_version

        model_version = clip_model_version(run_dir)
        level, ranking = "clip", "clip"
        if export_dir is None:
            export_dir = read_json(run_dir / "config.json")["run"]["export"]
    version = check_name(str(version) if version is not None else model_version.rsplit("@", 1)[1], "version")
    target = version_directory(models_dir, name, version)
    if target.exists():
        raise TrainingInputError(f"model {name}@{version} is already published in {target}; choose a new version.")
    if kind == "mvfit-av-retrieval":
        table = rank_export_items(run_dir, export_dir, cache_dir=cache_dir, media_root=media_root, progress=progress)
        body = table.to_csv(index=False, lineterminator="\n", float_format="%.6f").encode("utf-8")
    else:
        from training.retrieval.pipeline import write_rankings

        if streams is None:
            raise TrainingInputError("publishing a train-retrieval run needs the streams it was trained with.")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "rankings.csv"
            write_rankings(
                run_dir, out, streams=streams, export_dir=export_dir, top=0, media_root=media_root, progress=progress
            )
            body = out.read_bytes()
            table = pd.read_csv(out)
    manifest = {
        "format": MODEL_FORMAT,
        "format_version": 1,
        "name": name,
        "version": version,
        "model_version": model_version,
        "level": level,
        "ranking": ranking,
        "run": str(run_dir.resolve()),
        "export": str(Path(export_dir).resolve()),
        "clips": int(table.loc[table["query_kind"] == "clip", "query_id"].nunique()),
        "excerpts": int(table.loc[table["query_kind"] == "excerpt", "query_id"].nunique()),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Write into a temporary sibling and rename, so the registry never shows a half-published version.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}."))
    atomic_write_bytes(staging / "rankings.csv", body)
    atomic_write_bytes(staging / "model.json", json.dumps(manifest, indent=2).encode("utf-8"))
    staging.replace(target)
    return target
