"""The experiment list and the experiment page, with the page's actions (thin: services do the work).

Served at the experiments app's old addresses (``/experiments/``, ``/experiments/<id>/``), which these
pages replace.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from experiments.design.config import DesignError
from experiments.models import Experiment
from experiments.selectors import experiments as experiment_selectors
from experiments.selectors import progress as progress_selectors
from experiments.services import allocation, lifecycle, participants
from webapp.auth import staff_required
from webapp.csp import REPORT_POLICY
from workspace import selectors
from workspace.models import Job, JobKind
from workspace.services.scheduling import start_job

staff = staff_required


@require_GET
@staff
def experiment_list(request: HttpRequest) -> HttpResponse:
    context = {"experiments": experiment_selectors.experiments_with_counts(), "nav": "experiments"}
    return render(request, "workspace/experiments/list.html", context)


@require_GET
@staff
def experiment_page(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    show = request.GET.get("show", "all")
    if show not in selectors.ITEM_FILTERS:
        show = "all"
    page, rows = selectors.item_page(experiment, show=show, page=request.GET.get("page", 1))
    context = {
        "nav": "experiments",
        "experiment": experiment,
        "progress": progress_selectors.experiment_progress(experiment, short_limit=0),
        "page": page,
        "rows": rows,
        "show": show,
        "filters": selectors.ITEM_FILTERS,
        "invites": selectors.invite_summary(experiment),
        "jobs": selectors.latest_jobs(experiment),
        "report": selectors.latest_report(experiment),
        "render": selectors.render_progress(experiment),
    }
    return render(request, "workspace/experiments/page.html", context)


ACTIONS = {
    "open": lambda e: lifecycle.open_experiment(experiment=e),
    "pause": lambda e: lifecycle.close_experiment(experiment=e),
    "close": lambda e: lifecycle.close_experiment(experiment=e),
    "reopen": lambda e: lifecycle.open_experiment(experiment=e),
}
DONE = {"open": "Opened to workers.", "pause": "Paused: no new workers.", "close": "Closed.", "reopen": "Reopened."}


@require_POST
@staff
def change_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Open, pause/close (the same state: no new workers; active ones may finish) or reopen."""
    experiment = get_object_or_404(Experiment, pk=pk)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, f"Unknown action {action!r}.")
    else:
        try:
            ACTIONS[action](experiment)
        except DesignError as exc:
            messages.error(request, f"Could not {action}: {exc}")
        else:
            messages.success(request, DONE[action])
    return redirect("workspace:experiment", pk=pk)


@require_POST
@staff
def release_abandoned(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    released = allocation.release_abandoned_assignments(experiment=experiment)
    messages.success(request, f"Released {released} abandoned bundle(s) back on offer.")
    return redirect("workspace:experiment", pk=pk)


@require_POST
@staff
def create_invites(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        count = int(request.POST.get("count", ""))
        links = participants.create_invite_links(experiment=experiment, count=count, note=request.POST.get("note", ""))
    except ValueError as exc:
        messages.error(request, f"Invite links: {exc}" if "count" in str(exc) else "Invite links: give a number.")
    else:
        messages.success(request, f"Created {len(links)} invite link(s): download them as CSV below.")
    return redirect(reverse("workspace:experiment", args=[pk]) + "#invites")


@require_GET
@staff
def invites_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The unused invite links as CSV (each is a credential: served to staff only, never cached)."""
    experiment = get_object_or_404(Experiment, pk=pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["link", "note", "created_at"])
    for link in selectors.unused_invite_links(experiment):
        url = request.build_absolute_uri(reverse("experiments:invite", args=[participants.invite_token(link)]))
        writer.writerow([url, link.note, link.created_at.isoformat()])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{experiment.slug}-invites.csv"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff
def revoke_invites(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    revoked = participants.revoke_invite_links(experiment=experiment)
    messages.success(request, f"Revoked {revoked} unused invite link(s); used ones stay with their participants.")
    return redirect(reverse("workspace:experiment", args=[pk]) + "#invites")


@require_POST
@staff
def start_report(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    start_job(kind=JobKind.REPORT, experiment=experiment, created_by=request.user)
    return redirect(reverse("workspace:experiment", args=[pk]) + "#report")


@require_GET
@staff
def job_state(request: HttpRequest, pk: int, job: int) -> JsonResponse:
    """What the page's progress bar polls."""
    found = get_object_or_404(Job, pk=job, experiment_id=pk)
    return JsonResponse(
        {
            "state": found.state,
            "progress": found.progress,
            "step": found.step,
            "error": found.error,
            "finished": found.finished,
        }
    )


@require_GET
@staff
def render_state(request: HttpRequest, pk: int) -> JsonResponse:
    """How many of the experiment's pairings are rendered (the page's rendering bar polls it)."""
    experiment = get_object_or_404(Experiment, pk=pk)
    return JsonResponse(selectors.render_progress(experiment))


@require_GET
@staff
@csp_update(REPORT_POLICY)
def report_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The newest report built for the experiment (one self-contained HTML file)."""
    experiment = get_object_or_404(Experiment, pk=pk)
    job = selectors.latest_report(experiment)
    path = Path(settings.DATA_DIR) / job.result if job else None
    if path is None or not path.is_file():
        raise Http404("No report has been built for this experiment yet.")
    response = FileResponse(path.open("rb"), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
