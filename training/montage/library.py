"""The clip (and track) library a montage draws from: the ``stimuli`` table of an export directory.

Every ``clip`` row is a candidate shot: its prepared file, its source video and the span of the source it
shows (``start_s``, ``duration_s``). Every ``excerpt`` row is a piece of a track (``source_id``) — the
candidates of music supervision. Relative file keys resolve against ``media_root`` (storage keys of an S3
export), absolute paths are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import exportformat
from training.errors import TrainingInputError


@dataclass(frozen=True)
class LibraryItem:
    item_id: int
    source_id: int
    start_s: float
    duration_s: float
    path: Path

    def provenance(self) -> dict:
        return {
            "id": self.item_id,
            "source_id": self.source_id,
            "source_range_s": [round(self.start_s, 6), round(self.start_s + self.duration_s, 6)],
            "file": str(self.path),
        }


def read_library(export_dir: str | Path, kind: str, *, media_root: str | Path | None = None) -> list[LibraryItem]:
    """The prepared ``clip`` or ``excerpt`` items of an export, in id order (items without a file are skipped)."""
    directory = Path(export_dir)
    if not directory.is_dir():
        raise TrainingInputError(f"library {directory} is not a directory (expected an export with stimuli.csv).")
    try:
        stimuli = exportformat.read_export(directory, tables=("stimuli",), require=("stimuli",)).stimuli
    except exportformat.ExportError as exc:
        raise TrainingInputError(str(exc)) from exc
    rows = stimuli.loc[(stimuli["item_kind"] == kind) & stimuli["file"].fillna("").astype(str).ne("")]
    items = []
    for row in rows.sort_values("item_id").itertuples(index=False):
        path = Path(str(row.file))
        if not path.is_absolute():
            if media_root is None:
                raise TrainingInputError(
                    f"{kind} {row.item_id} has the storage key {row.file!r}: pass --media-root DIR with the media."
                )
            path = Path(media_root) / path
        items.append(LibraryItem(int(row.item_id), int(row.source_id), float(row.start_s), float(row.duration_s), path))
    if not items:
        raise TrainingInputError(f"{directory / 'stimuli.csv'} lists no prepared {kind}s.")
    return items
