"""Precomputed embeddings from files: bring OpenL3, MusiCNN, AudioSet (or any) features computed elsewhere.

An *embedding directory* holds one representation of many media files::

    <directory>/manifest.json
    <directory>/<sha256 of the media file>.npy

``manifest.json`` (UTF-8 JSON object)::

    {"format": "mvfit-embeddings", "format_version": 1,
     "name": "openl3-music-mel256-512",   # names the representation: [A-Za-z0-9._-], 1-64 characters
     "modality": "audio",                  # or "video"
     "dim": 512,                           # columns of every array
     "hop_s": 0.1,                         # seconds between rows: row k is the frame starting at k * hop_s
     "description": "openl3 0.4.2, content_type=music, input_repr=mel256, hop_size=0.1"}   # optional, free text

Each ``.npy`` file is a 2-D array (T >= 1 rows, ``dim`` columns) of float16/32/64 values for the media
file whose content has that sha256 (lower-case hex), written with ``numpy.save`` (no pickles). Keying
by content means the files follow the media wherever the library moves, and a re-encoded file is
never matched to stale features. :class:`EmbeddingDirectory` writes and checks this format; the
sha256 of each file is ``hashlib.sha256(open(path, "rb").read()).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mvfit_common.files import atomic_write_bytes, sha256_of
from training.errors import TrainingInputError

FORMAT = "mvfit-embeddings"
FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class EmbeddingManifest:
    name: str
    modality: str
    dim: int
    hop_s: float
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise TrainingInputError(f"embedding name {self.name!r} must match {NAME_PATTERN.pattern}.")
        if self.modality not in ("audio", "video"):
            raise TrainingInputError(f"embedding modality must be 'audio' or 'video', not {self.modality!r}.")
        if not isinstance(self.dim, int) or isinstance(self.dim, bool) or self.dim < 1:
            raise TrainingInputError(f"embedding dim must be a positive integer, not {self.dim!r}.")
        if isinstance(self.hop_s, bool) or not isinstance(self.hop_s, int | float) or not 0 < self.hop_s < 3600:
            raise TrainingInputError(f"embedding hop_s must be a positive number of seconds, not {self.hop_s!r}.")

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}


class EmbeddingDirectory:
    """Reads and writes an embedding directory (format in the module docstring)."""

    def __init__(self, directory: str | Path, manifest: EmbeddingManifest) -> None:
        self.directory = Path(directory)
        self.manifest = manifest

    @classmethod
    def create(
        cls, directory: str | Path, *, name: str, modality: str, dim: int, hop_s: float, description: str = ""
    ) -> EmbeddingDirectory:
        """A new directory (or an existing one with the same manifest, to add files to)."""
        manifest = EmbeddingManifest(name=name, modality=modality, dim=dim, hop_s=float(hop_s), description=description)
        directory = Path(directory)
        path = directory / "manifest.json"
        if path.exists():
            existing = cls.open(directory)
            if existing.manifest != manifest:
                raise TrainingInputError(f"{path} already describes different embeddings: {existing.manifest}.")
            return existing
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(manifest.to_dict(), indent=2).encode("utf-8"))
        return cls(directory, manifest)

    @classmethod
    def open(cls, directory: str | Path) -> EmbeddingDirectory:
        directory = Path(directory)
        path = directory / "manifest.json"
        if not path.is_file():
            raise TrainingInputError(f"{path} is missing: an embedding directory starts with manifest.json.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrainingInputError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TrainingInputError(f'{path} must say "format": "{FORMAT}".')
        if data.get("format_version") != FORMAT_VERSION:
            raise TrainingInputError(f"{path}: format_version {data.get('format_version')!r} is not supported.")
        unknown = set(data) - {"format", "format_version", "name", "modality", "dim", "hop_s", "description"}
        if unknown:
            raise TrainingInputError(f"{path} has unknown key(s) {sorted(unknown)}.")
        try:
            manifest = EmbeddingManifest(
                name=data["name"],
                modality=data["modality"],
                dim=data["dim"],
                hop_s=data["hop_s"],
                description=str(data.get("description", "")),
            )
        except KeyError as exc:
            raise TrainingInputError(f"{path} lacks the key {exc.args[0]!r}.") from None
        return cls(directory, manifest)

    def entry(self, media: str | Path) -> Path:
        return self.directory / f"{sha256_of(Path(media))}.npy"

    def write(self, media: str | Path, array: np.ndarray) -> Path:
        array = self._check(np.asarray(array), f"embeddings for {media}")
        buffer = io.BytesIO()
        np.save(buffer, array.astype(np.float32), allow_pickle=False)
        path = self.entry(media)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def read(self, media: str | Path) -> np.ndarray:
        path = self.entry(media)
        if not path.is_file():
            raise TrainingInputError(
                f"no {self.manifest.name} embeddings for {media}: expected {path} (the sha256 of the media file)."
            )
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise TrainingInputError(f"{path} is not a readable .npy array: {exc}") from None
        return self._check(array, str(path)).astype(np.float32)

    def _check(self, array: np.ndarray, what: str) -> np.ndarray:
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != self.manifest.dim:
            raise TrainingInputError(f"{what}: shape {array.shape}; expected (T >= 1, {self.manifest.dim}).")
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise TrainingInputError(f"{what}: needs finite floating-point values (dtype {array.dtype}).")
        return array

    def fingerprint(self) -> str:
        """Changes whenever the manifest or any array file changes (names, sizes, modification times)."""
        digest = hashlib.sha256(json.dumps(self.manifest.to_dict(), sort_keys=True).encode())
        for path in sorted(self.directory.glob("*.npy")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]


class PrecomputedEmbeddings:
    """Representation ``precomputed``: rows read from an embedding directory (never cached again)."""

    cacheable = False

    def __init__(self, directory: str | Path, *, modality: str | None = None) -> None:
        self.store = EmbeddingDirectory.open(directory)
        manifest = self.store.manifest
        if modality is not None and manifest.modality != modality:
            raise TrainingInputError(
                f"{self.store.directory} holds {manifest.modality} embeddings; a {modality} representation is needed."
            )
        self.name = f"precomputed-{manifest.name}"
        self.dim = manifest.dim
        self.modality = manifest.modality
        self.hop_s = float(manifest.hop_s)

    def config(self) -> dict:
        return {"directory": str(self.store.directory.resolve()), **self.store.manifest.to_dict()}

    def extract(self, path: Path) -> np.ndarray:
        return self.store.read(path)
