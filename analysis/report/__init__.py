"""The analysis report: one self-contained HTML file plus the PNG figures and CSV tables behind it.

``build_report(export_dir, out_dir, options)`` runs every registered step (``analysis/report/steps/``)
that the export has data for. A step that cannot run (no choices, three ratings, one worker, ...)
becomes a clear note in its section instead of an error, so the demo's handful of rows and a full
Langlois-scale study give the same kind of report. The page is rendered by
``templates/report.html.j2`` (Jinja2, autoescaped). docs/analysis.md: "Adding a report step".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.report.build import ReportResult, build_report
    from analysis.report.context import Context, Omit, ReportOptions, Section, Skip, Step, Writer, format_p
    from analysis.report.render import render_html
    from analysis.report.steps import STEPS
    from analysis.report.style import CSS

# Imported on first use (PEP 562): the report's modules pull in pandas, matplotlib, seaborn and scipy, and
# a process that only needs the stylesheet (the web app's Content-Security-Policy) should not pay for them.
_HOMES = {
    "CSS": "style",
    "STEPS": "steps",
    "ReportResult": "build",
    "build_report": "build",
    "render_html": "render",
    **dict.fromkeys(["Context", "Omit", "ReportOptions", "Section", "Skip", "Step", "Writer", "format_p"], "context"),
}

__all__ = [
    "CSS",
    "STEPS",
    "Context",
    "Omit",
    "ReportOptions",
    "ReportResult",
    "Section",
    "Skip",
    "Step",
    "Writer",
    "build_report",
    "format_p",
    "render_html",
]


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
