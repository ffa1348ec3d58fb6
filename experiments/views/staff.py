"""Experimenter pages: "preview as a worker" (which stores nothing). The experiment list and page are the
workspace's (``workspace.views.experiments``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from experiments import answer_input
from experiments.answer_input import AnswerRejected
from experiments.models import Bundle, Experiment
from experiments.selectors import experiments as selectors
from experiments.selectors import progress as progress_selectors
from experiments.selectors import worker as worker_selectors
from experiments.views.worker import parse_answer
from webapp.auth import staff_required


def _preview_bundle(request: HttpRequest, experiment: Experiment) -> Bundle:
    try:
        index = int(request.GET.get("bundle", 0))
    except ValueError as exc:
        raise Http404("bundle must be a number") from exc
    return get_object_or_404(selectors.bundles_of(experiment), index=index)


@staff_required
@require_GET
def preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    bundle = _preview_bundle(request, experiment)
    query = f"?bundle={bundle.index}"
    runner = {
        "mode": "preview",
        "stateUrl": reverse("experiments:preview_state", args=[pk]) + query,
        "trialUrl": reverse("experiments:preview_trial", args=[pk, 0]) + query,
        "answerUrl": reverse("experiments:preview_answer", args=[pk]) + query,
        "storageKey": f"preview-{pk}-{bundle.index}",
        "reloadUrl": reverse("experiments:preview", args=[pk]) + query,
    }
    context = {
        "experiment": experiment,
        "bundle": bundle,
        "n_bundles": bundle.n_bundles,
        "runner": runner,
        "preview": True,
    }
    return render(request, "experiments/worker/trials.html", context)


@staff_required
@require_GET
def preview_state(request: HttpRequest, pk: int) -> JsonResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    bundle = _preview_bundle(request, experiment)
    return JsonResponse(
        {
            "assignment": "preview",
            "total": bundle.n_trials,
            "answered": 0,
            "done": False,
            "unanswered": list(range(bundle.n_trials)),
        }
    )


@staff_required
@require_GET
def preview_trial(request: HttpRequest, pk: int, position: int) -> JsonResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    bundle = _preview_bundle(request, experiment)
    trial = worker_selectors.trial_for(bundle.pk, position)
    if trial is None:
        raise Http404("No such trial.")
    payload = worker_selectors.trial_payload(
        position=position, direction=trial.direction, is_choice=experiment.is_choice, media_scope={"b": bundle.pk}
    )
    payload["debug"] = progress_selectors.trial_answer_key(trial)
    return JsonResponse(payload)


@staff_required
@require_POST
def preview_answer(request: HttpRequest, pk: int) -> JsonResponse:
    """Validate like the real endpoint (but for the presentation token, which binds a real assignment), store nothing."""
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        answer = answer_input.check(parse_answer(request), now=timezone.now())
        answer_input.check_kind(is_choice=experiment.is_choice, answer=answer)
    except AnswerRejected as exc:
        return JsonResponse(exc.as_json(), status=exc.status)
    return JsonResponse({"key": answer.idempotency_key, "position": answer.position, "stored": False, "preview": True})
