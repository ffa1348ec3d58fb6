"""The headphone screen's pages and sounds. Thin: parse, call the screening service or selector, render."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from experiments.models import Participant
from experiments.selectors import screening as selectors
from experiments.services import screening
from experiments.views.worker import worker_headers, worker_view
from webapp.http import ranged_bytes_response


@worker_view
@require_GET
def headphone_page(request: HttpRequest, participant: Participant) -> HttpResponse:
    ready = participant.consented_at and participant.audio_check_passed_at and not participant.screened_out_at
    trial = screening.issue_headphone_trial(participant=participant) if ready else None
    if trial is None:
        return redirect("experiments:worker", token=participant.token)
    context = {"participant": participant, "experiment": participant.experiment, "token": participant.token}
    context |= selectors.page_context(trial, selectors.headphone_plan(participant.experiment))
    return render(request, "experiments/worker/headphones.html", context)


@worker_view
@require_POST
def headphone_answer(request: HttpRequest, participant: Participant) -> HttpResponse:
    number = request.POST.get("trial", "")
    screening.answer_headphone_trial(
        participant=participant,
        test=request.POST.get("test", ""),
        number=int(number) if number.isascii() and number.isdigit() and len(number) <= 2 else 0,
        answer=request.POST.get("answer", ""),
    )
    return redirect("experiments:headphones", token=participant.token)


@require_GET
@xframe_options_exempt
@never_cache
def headphone_sound(request: HttpRequest, signed: str) -> HttpResponse:
    """The open trial's three intervals as one stereo WAV, synthesised from its stored parameters."""
    trial = selectors.trial_for_sound_token(signed)
    return _wav(request, selectors.trial_sound_bytes(trial) if trial else None)


@require_GET
@xframe_options_exempt
@never_cache
def headphone_calibration(request: HttpRequest, signed: str) -> HttpResponse:
    return _wav(request, selectors.calibration_bytes(signed))


def _wav(request: HttpRequest, sound: bytes | None) -> HttpResponse:
    if sound is None:
        raise Http404("This sound link is invalid or expired; reload the page.")
    return worker_headers(ranged_bytes_response(request, sound, content_type="audio/wav"))
