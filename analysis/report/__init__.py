"""The analysis report: one self-contained HTML file plus the PNG figures and CSV tables behind it.

``build_report(export_dir, out_dir, options)`` runs every registered step (``analysis/report/steps/``)
that the export has data for. A step that cannot run (no choices, three ratings, one worker, ...)
becomes a clear note in its section instead of an error, so the demo's handful of rows and a full
Langlois-scale study give the same kind of report. The page is rendered by
``templates/report.html.j2`` (Jinja2, autoescaped). docs/analysis.md: "Adding a report step".
"""

from __future__ import annotations

from analysis.report.build import ReportResult, build_report
from analysis.report.context import Context, Omit, ReportOptions, Section, Skip, Step, Writer, format_p
from analysis.report.render import CSS, render_html
from analysis.report.steps import STEPS

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
