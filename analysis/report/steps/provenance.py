"""Report step: Data provenance."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from analysis.report.context import Context, Section, Step, Writer


def run(ctx: Context, w: Writer, section: Section) -> None:
    manifest = ctx.export.manifest
    counts = manifest.get("row_counts") or {}
    rows = [
        ("export directory", str(ctx.export.path)),
        ("exported at", manifest.get("exported_at", "-")),
        ("source", manifest.get("source", "-")),
        ("format", f"{manifest.get('format')} v{manifest.get('format_version')} (read as {ctx.export.file_format})"),
        ("pseudonymised worker ids", str(manifest.get("pseudonymised", "-"))),
    ]
    for table in ("ratings", "choices", "stimuli"):
        loaded = len(getattr(ctx.export, table))
        rows.append((f"{table} rows", f"{loaded:,} loaded / {counts.get(table, '-')} in manifest"))
    simulation = ctx.export.simulation
    if simulation:
        rows.append(("simulation seed", str(simulation.get("config", {}).get("seed", "-"))))
    rows.append(("analysis seed", str(ctx.options.seed)))
    rows.append(("report generated", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    rows.append(
        (
            "software",
            f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
            f"statsmodels {_version('statsmodels')}, scipy {_version('scipy')}",
        )
    )
    w.table(section, None, pd.DataFrame(rows, columns=["item", "value"]))
    experiments = manifest.get("experiments") or []
    if experiments:
        frame = pd.DataFrame(
            [
                {k: e.get(k) for k in ("id", "slug", "kind", "seed")} | {"config": json.dumps(e.get("config"))}
                for e in experiments
            ]
        )
        w.table(section, None, frame, caption="Experiments in this export (manifest.json).")
    options = asdict(ctx.options)
    options["rules"] = ctx.options.rules.as_dict()
    options["machine_distances"] = str(ctx.options.machine_distances) if ctx.options.machine_distances else None
    section.details("Analysis settings", json.dumps(options, indent=2))
    section.notes.extend(ctx.export.notes)
    ctx.summary["provenance"] = {
        "exported_at": manifest.get("exported_at"),
        "rows": {t: len(getattr(ctx.export, t)) for t in ("ratings", "choices", "stimuli")},
        "simulated": bool(simulation),
    }


def _version(module: str) -> str:
    import importlib

    return getattr(importlib.import_module(module), "__version__", "?")


STEP = Step(name="provenance", key="provenance", title="Data provenance", run=run)
