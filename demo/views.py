"""The demo's analysis report (``data/demo/report/report.html``), for staff only.

The report is one self-contained HTML file (figures embedded), so serving that file is all it takes.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from demo.services import demo_paths
from webapp.auth import staff_required
from webapp.csp import REPORT_POLICY


@staff_required
@require_GET
@csp_update(REPORT_POLICY)
def demo_report(request: HttpRequest) -> HttpResponse:
    html = demo_paths().report_html
    if not html.is_file():
        return HttpResponse(
            "No demo report yet: run `python manage.py demo` (it writes data/demo/report/report.html).",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(html.open("rb"), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"  # a re-run of the demo rewrites it
    return response
