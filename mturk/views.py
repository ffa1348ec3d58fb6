"""The worker's MTurk path: the page a HIT frames, in front of the experiments app's worker flow.

* Preview (``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``): instructions and a non-interactive sample
  of the task; no trial, no media of the study, no database write.
* Accepted: refuse a worker who already took part in the study under another assignment (our own
  record, because MTurk applies the exclusion qualification with a delay), refuse a ``turkSubmitTo``
  that is not MTurk's (the completion form would post the assignment id there), then enter the
  experiments worker flow keyed by (workerId, assignmentId) -- a reused assignment id with a new
  worker id gets a fresh participant -- and grant the exclusion qualification in the background.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from experiments.models import Experiment, Participant
from experiments.services.participants import MTURK_PREVIEW_ASSIGNMENT
from experiments.views.worker import enter_from_mturk
from mturk.models import Hit
from mturk.modes import SUBMIT_HOSTS, Mode
from mturk.selectors import worker_has_taken_part
from mturk.services.qualifications import record_worker_start
from webapp import csp


def _headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return csp.set_worker_policy(response)


def _message(request: HttpRequest, title: str, message: str, *, status: int) -> HttpResponse:
    return _headers(render(request, "mturk/message.html", {"title": title, "message": message}, status=status))


def allowed_submit_host(turk_submit_to: str) -> bool:
    return turk_submit_to.rstrip("/") in {host.rstrip("/") for host in settings.MTURK_SUBMIT_HOSTS}


def _mode_for(hit_id: str, turk_submit_to: str) -> Mode:
    hit = Hit.objects.select_related("batch").filter(hit_id=hit_id).first() if hit_id else None
    if hit is not None:
        return Mode(hit.batch.mode)
    return Mode.SANDBOX if turk_submit_to.rstrip("/") == SUBMIT_HOSTS[Mode.SANDBOX] else Mode.LIVE


@require_GET
@xframe_options_exempt
@never_cache
def entry(request: HttpRequest, slug: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, slug=slug)
    params = request.GET
    assignment_id = params.get("assignmentId", "").strip()
    if assignment_id in ("", MTURK_PREVIEW_ASSIGNMENT):
        return _headers(render(request, "mturk/preview.html", {"experiment": experiment}))

    worker_id, hit_id = params.get("workerId", "").strip(), params.get("hitId", "").strip()
    turk_submit_to = params.get("turkSubmitTo", "").strip()
    if not worker_id:
        return _message(request, "Cannot start", "This page needs an accepted HIT (workerId is missing).", status=400)
    if not allowed_submit_host(turk_submit_to):
        return _message(
            request,
            "Cannot start",
            "This link did not come from Mechanical Turk. Please open the HIT from the MTurk website.",
            status=400,
        )
    study = getattr(experiment, "mturk_study", None)
    mode = _mode_for(hit_id, turk_submit_to)
    known = Participant.objects.filter(experiment=experiment, worker_id=worker_id, assignment_id=assignment_id)
    if not known.exists():
        other_participation = Participant.objects.filter(experiment=experiment, worker_id=worker_id).exists()
        if other_participation or (study and worker_has_taken_part(study=study, mode=mode, worker_id=worker_id)):
            return _message(
                request,
                "You have already taken part",
                "Thank you, but this study allows one participation per worker. Please return this HIT so "
                "that another worker can take it.",
                status=403,
            )

    response = enter_from_mturk(request, experiment)  # the experiments app owns the worker flow from here
    if study is not None and known.exists():
        record_worker_start(study=study, mode=mode, worker_id=worker_id)
    return response
