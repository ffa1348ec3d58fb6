"""Render the report's sections to one self-contained HTML page with ``templates/report.html.j2``.

Jinja2 autoescapes everything; the only markup passed through is pandas' escaped tables, the steps'
paragraphs (:class:`analysis.report.context.Text`) and the stylesheet below, which the platform's
Content-Security-Policy allows by hash (``experiments/views/demo_report.py``).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from analysis.report.context import Context, Section

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
nav ol{columns:2} table.data{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.data th,table.data td{border-bottom:1px solid #e5e5e5;padding:.25em .6em;text-align:left;font-variant-numeric:tabular-nums}
table.data th{background:#f6f6f6}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{font-size:.85em;color:#555} .file{font-family:monospace;color:#888;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.4em .8em;margin:.5em 0;font-size:.9em}
.table{overflow-x:auto} pre{background:#f6f6f6;padding:.6em;font-size:.8em;overflow-x:auto}
"""


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
