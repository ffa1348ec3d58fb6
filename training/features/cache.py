"""On-disk cache of per-stimulus features from frozen backbones.

Layout: ``ROOT/<extractor name>/<config hash>/<media sha256>.npy``, each file a float32 array of
shape (T, D): one row per sampled frame / flow stack / audio example, pooled later. The key is the
*content* of the media file plus everything that changes the output (the extractor's config,
including the identity of its weights), so re-exported or moved media hit the cache and changed
settings never return stale features. Writes are atomic and durable (``mvfit_common.files``), so an
interrupted run leaves no half-written entry and simply resumes.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Protocol

import numpy as np

from mvfit_common.files import atomic_write_bytes, sha256_of


class FeatureExtractor(Protocol):
    """A frozen backbone wrapped to turn one media file into a (T, D) float32 array."""

    name: str  # stable id, e.g. "rgb-resnet50"
    dim: int

    def config(self) -> dict:
        """JSON-serialisable settings that determine the output (sampling, sizes, weights identity)."""
        ...

    def extract(self, path: Path) -> np.ndarray: ...


def config_hash(config: dict) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class FeatureCache:
    """Content-addressed store of extractor outputs under one root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._sha_memo: dict[tuple[str, int, int], str] = {}

    def directory(self, extractor: FeatureExtractor) -> Path:
        return self.root / extractor.name / config_hash(extractor.config())

    def media_sha(self, path: Path) -> str:
        stat = path.stat()
        memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if memo_key not in self._sha_memo:
            self._sha_memo[memo_key] = sha256_of(path)
        return self._sha_memo[memo_key]

    def entry(self, extractor: FeatureExtractor, media: Path) -> Path:
        return self.directory(extractor) / f"{self.media_sha(media)}.npy"

    def load(self, extractor: FeatureExtractor, media: Path) -> np.ndarray | None:
        """The cached array, or None when absent or unreadable (a corrupt entry is recomputed)."""
        entry = self.entry(extractor, media)
        if not entry.exists():
            return None
        try:
            array = np.load(entry, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None
        if array.ndim != 2 or array.shape[1] != extractor.dim or array.shape[0] == 0:
            return None
        return array

    def store(self, extractor: FeatureExtractor, media: Path, array: np.ndarray) -> None:
        directory = self.directory(extractor)
        config_file = directory / "config.json"
        if not config_file.exists():
            # Self-describing cache: what produced the files in this directory.
            text = json.dumps(
                {"extractor": extractor.name, **extractor.config()}, indent=2, sort_keys=True, default=str
            )
            atomic_write_bytes(config_file, text.encode("utf-8"), durable=True)
        buffer = _npy_bytes(np.ascontiguousarray(array, dtype=np.float32))
        atomic_write_bytes(self.entry(extractor, media), buffer, durable=True)


def _npy_bytes(array: np.ndarray) -> bytes:
    handle = io.BytesIO()
    np.save(handle, array, allow_pickle=False)
    return handle.getvalue()


class InputCache:
    """Decoded network inputs per media file, for fine-tuning (the backbones then run every epoch).

    Layout: ``ROOT/inputs/<input name>/<input config hash>/<media sha256>.npy``, the array in the dtype
    the extractor decodes to (uint8 frames, float16 flow, float32 log-mel examples). Like the feature
    cache it is content-addressed, written atomically and safe to share between processes and machines.
    """

    def __init__(self, root: str | Path) -> None:
        self.features = FeatureCache(root)
        self.root = Path(root) / "inputs"

    def entry(self, extractor, media: Path) -> Path:
        return (
            self.root
            / extractor.input_name
            / config_hash(extractor.input_config())
            / f"{self.features.media_sha(media)}.npy"
        )

    def load(self, extractor, media: Path) -> np.ndarray | None:
        entry = self.entry(extractor, media)
        if not entry.exists():
            return None
        try:
            return np.load(entry, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None

    def get(self, extractor, media: Path) -> Path:
        """The entry of ``media``'s decoded input, decoding and storing it first when absent or unreadable."""
        entry = self.entry(extractor, media)
        if self.load(extractor, media) is None:
            config_file = entry.parent / "config.json"
            if not config_file.exists():
                text = json.dumps({"input": extractor.input_name, **extractor.input_config()}, indent=2, sort_keys=True)
                atomic_write_bytes(config_file, text.encode("utf-8"))
            atomic_write_bytes(entry, _npy_bytes(np.ascontiguousarray(extractor.decode(media))))
        return entry
