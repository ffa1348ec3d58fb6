"""Preference items with decoded clip inputs, for a ``DataLoader`` (worker processes, pinned memory).

Each item yields its index, its label and, per role (query, option A, option B), either the decoded
inputs of a clip (one array per visual stream, read from the input cache, so worker processes do the
file I/O) or the frozen audio embedding of an excerpt. :func:`collate` keeps clip inputs as lists,
because clips differ in their number of frames; the model batches them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

ROLES = (("query", "query_id", "query_kind"), ("a", "a_id", "option_kind"), ("b", "b_id", "option_kind"))


@dataclass
class ClipSource:
    """Where each clip's decoded input lives, per visual stream: ``{stream: {clip_id: .npy path}}``."""

    entries: dict[str, dict[int, Path]]

    def load(self, clip_id: int) -> dict[str, torch.Tensor]:
        return {stream: torch.from_numpy(np.load(paths[clip_id])) for stream, paths in self.entries.items()}


class PreferenceInputs(Dataset):
    def __init__(self, items: pd.DataFrame, clips: ClipSource, audio: dict[int, np.ndarray]) -> None:
        self.items = items.reset_index(drop=True)
        self.clips = clips
        self.audio = audio

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        row = self.items.iloc[index]
        sample = {"index": index, "label": float(row["label"])}
        for role, id_column, kind_column in ROLES:
            item_id = int(row[id_column])
            if row[kind_column] == "clip":
                sample[role] = self.clips.load(item_id)
            else:
                sample[role] = torch.from_numpy(self.audio[item_id])
        return sample


def collate(samples: list[dict]) -> dict:
    batch = {
        "index": torch.tensor([s["index"] for s in samples], dtype=torch.long),
        "label": torch.tensor([s["label"] for s in samples], dtype=torch.float32),
    }
    for role, _, _ in ROLES:
        first = samples[0][role]
        if isinstance(first, dict):
            batch[role] = {stream: [s[role][stream] for s in samples] for stream in first}
        else:
            batch[role] = torch.stack([s[role] for s in samples])
    return batch


def to_device(batch: dict, device: torch.device) -> dict:
    """Move a collated batch to ``device`` (non-blocking from pinned memory)."""
    moved = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            moved[key] = {s: [t.to(device, non_blocking=True) for t in tensors] for s, tensors in value.items()}
        else:
            moved[key] = value.to(device, non_blocking=True)
    return moved
