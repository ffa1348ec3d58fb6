"""The questionnaire page. Thin: parse, call the questionnaire service or selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from experiments.models import Participant
from experiments.selectors import questionnaire as selectors
from experiments.selectors import worker as worker_selectors
from experiments.services.questionnaire import submit_questionnaire
from experiments.views.worker import worker_view


@worker_view
@require_http_methods(["GET", "POST"])
def questionnaire_page(request: HttpRequest, participant: Participant) -> HttpResponse:
    assignment = worker_selectors.current_assignment(participant)
    if worker_selectors.worker_step(participant, assignment) != worker_selectors.Step.QUESTIONNAIRE:
        return redirect("experiments:worker", token=participant.token)
    problems = []
    if request.method == "POST":
        problems = submit_questionnaire(participant=participant, form=request.POST)
        if not problems:
            return redirect("experiments:worker", token=participant.token)
    definition = selectors.questionnaire_for(participant)
    context = {
        "participant": participant,
        "experiment": participant.experiment,
        "token": participant.token,
        "items": selectors.page_items(definition, values=request.POST, problems=problems),
        "problems": problems,
    }
    return render(request, "experiments/worker/questionnaire.html", context, status=400 if problems else 200)
