"""Write an export directory (or zip) exactly as docs/export-format.md defines it."""

from __future__ import annotations

import csv
import json
import os
import socket
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from tqdm.auto import tqdm

from analysis import schema
from experiments.models import Experiment
from experiments.selectors import export as rows
from experiments.services.pseudonyms import pseudonym_key

VERSION = "0.1.0"


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    row_counts: dict[str, int]
    files: list[str]


def csv_cell(kind: str, value) -> str:
    """One CSV cell for a value of logical type ``kind`` (analysis.schema)."""
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "timestamp":
        return schema.format_timestamp(value)
    if kind == "float":
        return repr(float(value))
    return str(value)


def _write_csv(path: Path, columns: dict[str, str], records: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([csv_cell(kind, record[c]) for c, kind in columns.items()])
    os.replace(tmp, path)


def _write_parquet(path: Path, table: str, records: list[dict]) -> bool:
    """The Parquet twin, written by the same function as the simulator's (one convention: nulls)."""
    try:
        import pandas as pd

        from analysis.io import write_table_parquet
    except ImportError:  # pyarrow is optional for exports
        return False
    write_table_parquet(pd.DataFrame.from_records(records, columns=list(schema.TABLES[table])), path, table)
    return True


def write_export(
    *,
    experiments: Iterable[Experiment],
    out_dir: Path,
    include_incomplete: bool = False,
    parquet: bool = True,
    progress: bool = False,
) -> ExportResult:
    """Write manifest.json, ratings.csv, choices.csv, stimuli.csv (+ Parquet twins) into ``out_dir``."""
    experiments = sorted(experiments, key=lambda e: e.pk)
    if not experiments:
        raise ValueError("choose at least one experiment to export.")
    key = pseudonym_key()
    out_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=3, desc="export", disable=not progress, unit="table")
    ratings = list(rows.rating_rows(experiments, key=key, include_incomplete=include_incomplete))
    bar.update()
    choices = list(rows.choice_rows(experiments, key=key, include_incomplete=include_incomplete))
    bar.update()
    clip_ids = {r["clip_id"] for r in ratings if r["clip_id"] is not None}
    excerpt_ids = {r["excerpt_id"] for r in ratings if r["excerpt_id"] is not None}
    for r in choices:
        if r["query_id"] is None:
            continue
        queries, options = (clip_ids, excerpt_ids) if r["direction"] == "V2M" else (excerpt_ids, clip_ids)
        queries.add(r["query_id"])
        options.update((r["left_id"], r["right_id"]))
    stimuli = list(rows.stimulus_rows(clip_ids=clip_ids, excerpt_ids=excerpt_ids))
    bar.update()
    bar.close()

    tables = {
        "ratings": (schema.RATINGS, ratings),
        "choices": (schema.CHOICES, choices),
        "stimuli": (schema.STIMULI, stimuli),
    }
    files = []
    for name, (columns, records) in tables.items():
        _write_csv(out_dir / f"{name}.csv", columns, records)
        files.append(f"{name}.csv")
        if parquet and _write_parquet(out_dir / f"{name}.parquet", name, records):
            files.append(f"{name}.parquet")
    counts = {name: len(records) for name, (_, records) in tables.items()}
    manifest = {
        "format": schema.FORMAT_NAME,
        "format_version": schema.FORMAT_VERSION,
        "exported_at": schema.format_timestamp(timezone.now()),
        "source": f"mvfit {VERSION} @ {socket.gethostname()}",
        "experiments": [
            {"id": e.pk, "slug": e.slug, "kind": e.kind, "seed": e.seed, "config": e.config} for e in experiments
        ],
        "row_counts": counts,
        "pseudonymised": True,
        "simulation": None,
        "assignments": "all" if include_incomplete else "completed",
    }
    tmp = out_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "manifest.json")
    files.insert(0, "manifest.json")
    return ExportResult(directory=out_dir, row_counts=counts, files=files)


def export_zip(*, experiments: Iterable[Experiment], include_incomplete: bool = False) -> Path:
    """The export as a zip in a temporary file (the caller deletes it)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = write_export(
            experiments=experiments, out_dir=Path(tmp) / "export", include_incomplete=include_incomplete
        )
        handle, name = tempfile.mkstemp(suffix=".zip", prefix="mvfit-export-")
        os.close(handle)
        with zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in result.files:
                archive.write(result.directory / file, arcname=file)
    return Path(name)
