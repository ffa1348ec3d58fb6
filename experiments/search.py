"""Search sources: where the "S" (search result) option of the preference test comes from.

A source ranks candidates of the other modality for a query: clips rank excerpts (V2M), excerpts
rank clips (M2V). Until the training work serves its retrieval model, two sources exist:

* ``ranking-file``: the CSV that ``python -m training rank`` writes, with columns
  ``query_kind,query_id,candidate_id,rank,score,model_version`` (``query_kind`` is ``clip`` for a
  video query and ``excerpt`` for a music query; ``V2M``/``M2V`` are accepted as synonyms);
* ``features``: nearest neighbours by cosine similarity on stored vectors in one joint embedding
  space, an ``.npz`` with ``clip_ids``, ``clip_vectors``, ``excerpt_ids``, ``excerpt_vectors``
  and optionally ``model_version``;
* ``model``: a trained retrieval model (clip or segment level) published by name and version with
  ``python -m training publish-model`` into the model registry (``training/registry.py``,
  ``DATA_DIR/models``); its source name is ``model:<name>@<version>``.

Each S option records ``source.name`` and the rank that produced it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from annotation.files import models_dir

RANKING_COLUMNS = ("query_kind", "query_id", "candidate_id", "rank", "score", "model_version")
QUERY_KINDS = {"clip": "V2M", "video": "V2M", "v2m": "V2M", "excerpt": "M2V", "music": "M2V", "m2v": "M2V"}


class SearchSourceError(ValueError):
    """A search source file is missing, malformed or has no results for a query."""


@dataclass(frozen=True)
class Ranked:
    candidate_id: int
    rank: int


class SearchSource(Protocol):
    name: str

    def ranked(self, *, direction: str, query_id: int) -> list[Ranked]:
        """Candidates for the query, best first, with the rank the source gave each."""
        ...


class RankingFileSource:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SearchSourceError(f"ranking file {self.path} does not exist.")
        results: dict[tuple[str, int], list[Ranked]] = defaultdict(list)
        versions: set[str] = set()
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in RANKING_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SearchSourceError(
                    f"ranking file {self.path} lacks column(s) {', '.join(missing)}; "
                    f"expected {','.join(RANKING_COLUMNS)}."
                )
            for line, row in enumerate(reader, start=2):
                direction = QUERY_KINDS.get(row["query_kind"].strip().lower())
                if direction is None:
                    raise SearchSourceError(
                        f"{self.path}:{line}: query_kind must be clip or excerpt, not {row['query_kind']!r}."
                    )
                try:
                    ranked = Ranked(candidate_id=int(row["candidate_id"]), rank=int(row["rank"]))
                    query_id = int(row["query_id"])
                except ValueError as exc:
                    raise SearchSourceError(
                        f"{self.path}:{line}: query_id, candidate_id and rank must be integers."
                    ) from exc
                results[(direction, query_id)].append(ranked)
                if row["model_version"]:
                    versions.add(row["model_version"])
        self._results = {key: sorted(value, key=lambda r: r.rank) for key, value in results.items()}
        version = f"@{versions.pop()}" if len(versions) == 1 else ""
        self.name = f"ranking-file:{path}{version}"

    def ranked(self, *, direction: str, query_id: int) -> list[Ranked]:
        return self._results.get((direction, query_id), [])


class FeatureNeighbourSource:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SearchSourceError(f"feature file {self.path} does not exist.")
        with np.load(self.path, allow_pickle=False) as data:
            missing = [k for k in ("clip_ids", "clip_vectors", "excerpt_ids", "excerpt_vectors") if k not in data]
            if missing:
                raise SearchSourceError(f"feature file {self.path} lacks array(s) {', '.join(missing)}.")
            self._ids = {"clip": data["clip_ids"].astype(int), "excerpt": data["excerpt_ids"].astype(int)}
            vectors = {"clip": data["clip_vectors"], "excerpt": data["excerpt_vectors"]}
            version = str(data["model_version"]) if "model_version" in data else ""
        if vectors["clip"].shape[1:] != vectors["excerpt"].shape[1:]:
            raise SearchSourceError(
                f"feature file {self.path}: clip vectors {vectors['clip'].shape} and excerpt vectors "
                f"{vectors['excerpt'].shape} are not in one embedding space."
            )
        self._unit = {kind: _normalise(v.astype(np.float64)) for kind, v in vectors.items()}
        self._row = {kind: {int(i): r for r, i in enumerate(ids)} for kind, ids in self._ids.items()}
        self.name = f"features:{path}" + (f"@{version}" if version else "")

    def ranked(self, *, direction: str, query_id: int) -> list[Ranked]:
        query_kind, candidate_kind = ("clip", "excerpt") if direction == "V2M" else ("excerpt", "clip")
        row = self._row[query_kind].get(query_id)
        if row is None:
            return []
        scores = self._unit[candidate_kind] @ self._unit[query_kind][row]
        order = np.argsort(-scores, kind="stable")
        return [Ranked(candidate_id=int(self._ids[candidate_kind][i]), rank=r) for r, i in enumerate(order, start=1)]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


class ModelSource:
    """A published model: the registry entry's rankings, under the name ``model:<name>@<version>``."""

    def __init__(self, name: str, version: str, *, models_dir: str | Path) -> None:
        from training.registry import RegistryError, read_manifest, source_name

        try:
            directory, manifest = read_manifest(models_dir, name, version)
        except RegistryError as exc:
            raise SearchSourceError(str(exc)) from None
        self._rankings = RankingFileSource(directory / "rankings.csv")
        self.model_version = str(manifest.get("model_version", ""))
        self.name = source_name(name, version)

    def ranked(self, *, direction: str, query_id: int) -> list[Ranked]:
        return self._rankings.ranked(direction=direction, query_id=query_id)


def load_search_source(spec: dict) -> SearchSource:
    """Build a source from the ``search`` block of a preference-test config."""
    kind = spec.get("kind")
    if kind == "model":
        return ModelSource(str(spec.get("name")), str(spec.get("version")), models_dir=models_dir())
    path = spec.get("path")
    if not path:
        raise SearchSourceError("the search source needs a 'path'.")
    if kind == "ranking-file":
        return RankingFileSource(path)
    if kind == "features":
        return FeatureNeighbourSource(path)
    raise SearchSourceError(f"search source kind must be 'ranking-file', 'features' or 'model', not {kind!r}.")
