"""Write an export directory (or zip) of experiments' answers: docs/export-format.md, through ``exportformat``."""

from __future__ import annotations

import os
import socket
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from tqdm.auto import tqdm

import exportformat
from experiments.models import Experiment
from experiments.selectors import export as rows
from experiments.selectors import participant_export as participant_rows
from experiments.services.pseudonyms import pseudonym_key

VERSION = "0.1.0"


def write_export(
    *,
    experiments: Iterable[Experiment],
    out_dir: Path,
    include_incomplete: bool = False,
    parquet: bool = True,
    progress: bool = False,
    simulation: dict | None = None,
) -> exportformat.WrittenExport:
    """Write manifest.json and every table of the export format (+ Parquet twins) into ``out_dir``.

    ``simulation`` describes simulated participants among the answers (the manifest's ``simulation``).
    """
    experiments = sorted(experiments, key=lambda e: e.pk)
    if not experiments:
        raise ValueError("choose at least one experiment to export.")
    key = pseudonym_key()
    bar = tqdm(total=4, desc="export", disable=not progress, unit="table")
    ratings = list(rows.rating_rows(experiments, key=key, include_incomplete=include_incomplete))
    bar.update()
    choices = list(rows.choice_rows(experiments, key=key, include_incomplete=include_incomplete))
    bar.update()
    stimuli = list(rows.stimulus_rows(**rows.referenced_items(ratings=ratings, choices=choices)))
    montage_tables = {
        "montage_ratings": list(rows.montage_rating_rows(experiments, key=key, include_incomplete=include_incomplete)),
        "montage_choices": list(rows.montage_choice_rows(experiments, key=key, include_incomplete=include_incomplete)),
    }
    montage_tables["montages"] = list(rows.montage_rows(montage_ids=rows.referenced_montages(**montage_tables)))
    bar.update()
    people = {
        "participants": list(participant_rows.participant_rows(experiments, key=key)),
        "questionnaire": list(participant_rows.questionnaire_rows(experiments, key=key)),
        "headphone_trials": list(participant_rows.headphone_trial_rows(experiments, key=key)),
        "skipped_trials": list(participant_rows.skipped_trial_rows(experiments, key=key)),
        "trial_events": list(
            participant_rows.trial_event_rows(experiments, key=key, include_incomplete=include_incomplete)
        ),
    }
    bar.update()
    bar.close()
    return exportformat.write_export(
        out_dir,
        tables={"ratings": ratings, "choices": choices, "stimuli": stimuli, **montage_tables, **people},
        provenance={
            "source": f"mvfit {VERSION} @ {socket.gethostname()}",
            "experiments": [
                {"id": e.pk, "slug": e.slug, "kind": e.kind, "seed": e.seed, "config": e.config} for e in experiments
            ],
            "pseudonymised": True,
            "simulation": simulation,
            "assignments": "all" if include_incomplete else "completed",
        },
        parquet=parquet,
    )


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
