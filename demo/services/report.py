"""Export the demo's answers and write the analysis report on them.

The export is the platform's own (``write_export``, docs/export-format.md) into
``data/demo/export``; its ``manifest.json`` then gets a ``simulation`` block describing the
simulated crowd (their pseudonyms, the latent model, the planted shares), so nobody mistakes the
demo's answers for real data and the report can compare what it finds with what was planted. The
report is ``analysis.report.build_report`` (Django-free; called in-process on the export files)
into ``data/demo/report``, with the stand-in search's distances as the Table IV Machine row.

Both are redone only when the answers changed (for example after someone followed an invite
link), so a second demo run with nothing new is quick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import exportformat
from demo.selectors import completed_answers_fingerprint, simulated_worker_ids
from demo.services import DemoPaths
from experiments.models import Experiment
from experiments.services.export import write_export
from experiments.services.pseudonyms import pseudonym_key, pseudonymise
from mvfit_common.files import atomic_write_text

FIGURE_FOR_A_FIRST_LOOK = ("genre_fit_clustermap", "preference_shares")


@dataclass(frozen=True)
class DemoReport:
    export_dir: Path
    html: Path | None
    row_counts: dict[str, int]
    refreshed: bool
    note: str = ""


def _write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def simulation_block(crowd: dict, *, key: str, worker_ids: list[str]) -> dict:
    """The manifest's ``simulation`` entry for an export that holds the demo crowd's answers.

    ``worker_ids`` are the raw ids of the participants marked ``is_simulated``; the entry lists
    their pseudonyms (the export's ``worker_id``).
    """
    raters = crowd["experiments"].get("demo-fit-ratings", {}).get("workers", [])
    truth: dict = {}
    if raters:
        truth["ratings"] = {
            "workers": {
                "worker_id": [pseudonymise(w["worker_id"], key=key) for w in raters],
                "bias": [w["bias"] for w in raters],
                "scale": [w["sensitivity"] for w in raters],
                "careless": [w["careless"] for w in raters],
            }
        }
    if crowd.get("p_first_model"):
        # The model's mean P(first) over the trials the attentive workers answered.
        # analysis.simulate's truth: the shares realised on the answered trials and the population's.
        truth["preference"] = {
            "p_first_median_subject": crowd["model"].get("p_first_median_subject", {}),
            "p_first_realised": crowd["p_first_model"],
            "p_first_expected": crowd.get("p_first_expected") or crowd["p_first_model"],
        }
    simulated = sorted({pseudonymise(worker_id, key=key) for worker_id in worker_ids})
    return {
        "generator": crowd["generator"],
        "note": (
            "Answers of workers listed in simulated_workers come from the demo's simulated crowd (participants "
            "marked is_simulated), not from people. Any other worker answered through an invite link."
        ),
        "config": {"seed": crowd["seed"], **crowd["model"]},
        "simulated_workers": simulated,
        "truth": truth,
    }


def export_and_report(
    *, experiments: list[Experiment], paths: DemoPaths, progress: bool = True, force: bool = False
) -> DemoReport:
    """Export the completed answers and write the report, unless nothing changed since the last time."""
    stamp = paths.report / "source.json"
    fingerprint = completed_answers_fingerprint(experiments)
    previous = json.loads(stamp.read_text()) if stamp.is_file() else None
    manifest = paths.export / "manifest.json"
    if not force and previous == fingerprint and paths.report_html.is_file() and manifest.is_file():
        counts = exportformat.read_manifest(paths.export)["row_counts"]
        return DemoReport(paths.export, paths.report_html, counts, refreshed=False, note="no new answers")
    if not fingerprint["responses"]:
        return DemoReport(paths.export, None, {}, refreshed=False, note="no completed assignments to analyse yet")

    from analysis.report import ReportOptions, build_report  # seaborn & co.: only when a report is due

    crowd = json.loads(paths.crowd.read_text()) if paths.crowd.is_file() else None
    simulation = (
        simulation_block(crowd, key=pseudonym_key(), worker_ids=simulated_worker_ids(experiments)) if crowd else None
    )
    result = write_export(experiments=experiments, out_dir=paths.export, progress=progress, simulation=simulation)
    options = ReportOptions(
        machine_distances=paths.machine_distances if paths.machine_distances.is_file() else None,
        progress=progress,
    )
    report = build_report(paths.export, paths.report, options)
    _write_json(stamp, fingerprint)
    return DemoReport(paths.export, report.html, result.row_counts, refreshed=True)


def first_look_figure(paths: DemoPaths) -> Path | None:
    """The report figure a newcomer should look at first (the genre-fit clustermap when there is one)."""
    for name in FIGURE_FOR_A_FIRST_LOOK:
        figure = paths.report / "figures" / f"{name}.png"
        if figure.is_file():
            return figure
    return None
