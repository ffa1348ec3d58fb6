"""The worker's "report a problem" control: a form post (or fetch) that stores a report for the review queue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from experiments.models import Participant
from experiments.services import problems
from experiments.views.worker import worker_view

THANKS = "Thank you. The researchers will see your report."


@worker_view
@require_POST
def report_problem(request: HttpRequest, participant: Participant) -> HttpResponse:
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        problems.report_problem(
            participant=participant, category=request.POST.get("category", ""), text=request.POST.get("text", "")
        )
    except problems.ReportRefused as refused:
        if wants_json:
            return JsonResponse({"error": str(refused)}, status=400)
        return _page(request, participant, str(refused), status=400)
    if wants_json:
        return JsonResponse({"message": THANKS}, status=201)
    return _page(request, participant, THANKS, status=201)


def _page(request: HttpRequest, participant: Participant, message: str, *, status: int) -> HttpResponse:
    """Without JavaScript: a page with the answer and a link back to the study."""
    context = {"title": "Report a problem", "message": message, "back_token": participant.token}
    return render(request, "experiments/worker/message.html", context, status=status)
