"""Render the report's sections to one self-contained HTML page with ``templates/report.html.j2``.

Jinja2 autoescapes everything; the only markup passed through is pandas' escaped tables, the steps'
paragraphs (:class:`analysis.report.context.Text`) and the stylesheet (``analysis.report.style``), which the platform's
Content-Security-Policy allows by hash (``experiments/views/demo_report.py``).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from analysis.report.context import Context, Section
from analysis.report.style import CSS


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("analysis.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(ctx: Context, sections: list[Section]) -> str:
    rows = ctx.summary.get("provenance", {}).get("rows", {})
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            title=f"mvfit analysis report - {ctx.export.path.name}",
            subtitle=", ".join(f"{n:,} {t}" for t, n in rows.items()),
            css=Markup(CSS),
            sections=sections,
        )
    )
