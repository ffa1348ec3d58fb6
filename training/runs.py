"""What every training run writes: seeds, a per-epoch metrics CSV, a learning curve, checkpoints.

A checkpoint holds only tensors and plain Python values, so it loads with
``torch.load(weights_only=True)`` (no arbitrary code runs when someone opens a run they were sent).
"""

from __future__ import annotations

import csv
import html
import io
import json
import platform
import random
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvfit_common.files import atomic_write, atomic_write_bytes
from training.device import threads as torch_threads  # noqa: F401  (the pipelines' thread policy)
from training.errors import TrainingInputError


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def plain(value):
    """Numpy scalars/arrays and tuples → Python numbers/lists, recursively (safe to pickle and JSON)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def new_run_directory(out: str | Path) -> Path:
    """The run directory, created; a directory that already holds a trained run is refused (never overwritten)."""
    out = Path(out)
    if (out / "checkpoint.pt").exists():
        raise TrainingInputError(f"{out} already holds a trained run; choose a new --out directory.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_run(
    out: Path,
    *,
    checkpoint_format: str,
    run: Any,
    model: torch.nn.Module,
    streams: list[dict],
    record: dict | None,
    export_manifest: dict,
    split: dict,
    history: list[dict],
    summary: dict,
    device: str = "cpu (frozen backbones, cached features)",
) -> dict:
    """Write a finished run's checkpoint.pt, config.json, split.json and summary.json; return the config.

    ``run`` is the run's config dataclass, ``model`` has a ``config.to_dict()``, ``streams`` is
    :func:`training.features.store.stream_description` of the streams it was trained on.
    """
    run_config = {
        "run": asdict(run),
        "model": model.config.to_dict(),
        "streams": streams,
        **(record or {}),
        "export_manifest": export_manifest,
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "device": device,
    }
    save_checkpoint(
        out / "checkpoint.pt",
        {
            "format": checkpoint_format,
            "format_version": 1,
            "state_dict": model.state_dict(),
            "config": run_config,
            "split": split,
            "metrics": {"history": history, "summary": summary},
        },
    )
    write_json(out / "config.json", run_config)
    write_json(out / "split.json", split)
    write_json(out / "summary.json", summary)
    return run_config


def write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(
        path, json.dumps(plain(data), indent=2, sort_keys=True, default=str).encode("utf-8"), durable=True
    )


def read_json(path: Path) -> dict:
    if not path.exists():
        raise TrainingInputError(f"{path} is missing: is {path.parent} a run directory written by training?")
    return json.loads(path.read_text(encoding="utf-8"))


def save_checkpoint(path: Path, payload: dict) -> None:
    buffer = io.BytesIO()
    state = payload.get("state_dict")
    torch.save({**plain({k: v for k, v in payload.items() if k != "state_dict"}), "state_dict": state}, buffer)
    atomic_write_bytes(path, buffer.getvalue(), durable=True)


def load_checkpoint(path: Path, *, expected_format: str) -> dict:
    if not path.exists():
        raise TrainingInputError(f"{path} is missing: pass the run directory written by the train command.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for corrupt files
        raise TrainingInputError(f"{path} is not a readable checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise TrainingInputError(f"{path} is a {found!r} checkpoint, not {expected_format!r}.")
    return payload


class MetricsLog:
    """Appends one row per epoch to ``metrics.csv`` (flushed, so a crashed run keeps its history)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.columns = list(columns)
        self.rows: list[dict] = []
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(self.columns)

    def append(self, row: dict) -> None:
        self.rows.append(row)
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([_format(row.get(c)) for c in self.columns])


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def plot_learning_curve(path: Path, rows: list[dict], *, panels: list[tuple[str, list[str]]], title: str) -> None:
    """One PNG with a panel per (y-label, [metric columns]) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    epochs = [row["epoch"] for row in rows]
    for ax, (ylabel, columns) in zip(axes[0], panels, strict=True):
        for column in columns:
            values = [row.get(column) for row in rows]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], marker="o", markersize=3, label=column)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def write_report(path: Path, *, title: str, sections: list[tuple[str, str]], image: str | None) -> None:
    """A small self-contained HTML page: headed text sections (preformatted) and the learning curve."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
        f"<p>Written {html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))}.</p>",
    ]
    for heading, text in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2><pre>{html.escape(text)}</pre>")
    if image:
        parts.append(
            f"<h2>Learning curve</h2><img src='{html.escape(image)}' alt='learning curve' style='max-width:100%'>"
        )
    parts.append("</body></html>")
    atomic_write_bytes(path, "\n".join(parts).encode("utf-8"))
