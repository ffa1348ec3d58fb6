"""The worker's MTurk path: the page a HIT frames, in front of the experiments app's worker flow.

* Preview (``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``): instructions and a non-interactive sample
  of the task, for a HIT of this experiment; no trial, no media of the study, no database write.
* Accepted: :func:`mturk.services.entry.enter_from_hit` checks the HIT, the marketplace and returning
  workers, then the worker continues in the experiments app's flow with their session token.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from mturk.selectors import experiment_for_entry
from mturk.services.entry import EntryRefused, MTurkVisit, check_preview, enter_from_hit
from webapp import csp


def _headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return csp.set_worker_policy(response)


@require_GET
@xframe_options_exempt
@never_cache
def entry(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = experiment_for_entry(slug=slug)
    visit = MTurkVisit.from_query(request.GET)
    try:
        if visit.is_preview:
            check_preview(experiment=experiment, visit=visit)
            return _headers(render(request, "mturk/preview.html", {"experiment": experiment}))
        participant = enter_from_hit(
            experiment=experiment, visit=visit, user_agent=request.headers.get("User-Agent", "")
        )
    except EntryRefused as exc:
        context = {"title": exc.title, "message": exc.message}
        return _headers(render(request, "mturk/message.html", context, status=exc.status))
    return _headers(redirect("experiments:worker", token=participant.token))
