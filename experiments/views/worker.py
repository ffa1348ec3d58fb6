"""Worker pages and the worker JSON API. Thin: parse, call a service or selector, render.

Authentication is the random session token in the URL (MTurk shows our pages in a third-party
iframe, where cookies are unreliable), so these views are CSRF-exempt by design: a forged
cross-site request cannot know the token.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from experiments import answer_input
from experiments.answer_input import AnswerInput, AnswerRejected
from experiments.models import Participant
from experiments.selectors import audio_check as audio_check_selectors
from experiments.selectors import screening as screening_selectors
from experiments.selectors import worker as selectors
from experiments.services import allocation, answers, fastpath, participants
from webapp import csp
from webapp.http import ranged_bytes_response, ranged_file_response
from webapp.lean import lean_request
from webapp.tokens import BadToken


def worker_headers(response: HttpResponse, *, submit_hosts: Iterable[str] = ()) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return csp.set_worker_policy(response, submit_hosts=submit_hosts)


def worker_view(view):
    """Resolve the session token to its participant (404 otherwise) and set the worker headers."""

    @functools.wraps(view)
    @csrf_exempt
    @xframe_options_exempt
    @never_cache
    def wrapper(request: HttpRequest, token: str, *args, **kwargs):
        participant = selectors.participant_for_token(token)
        if participant is None:
            raise Http404("Unknown session.")
        return worker_headers(view(request, participant, *args, **kwargs))

    return wrapper


def message_page(request: HttpRequest, title: str, message: str, *, status: int = 200) -> HttpResponse:
    response = render(request, "experiments/worker/message.html", {"title": title, "message": message}, status=status)
    return worker_headers(response)


# --- entry ------------------------------------------------------------------------------------


@require_GET
@xframe_options_exempt
def invite(request: HttpRequest, signed: str) -> HttpResponse:
    try:
        participant = participants.redeem_invite(token=signed, user_agent=request.headers.get("User-Agent", ""))
    except participants.EntryError as exc:
        return message_page(request, "Cannot start", str(exc), status=403)
    return redirect("experiments:worker", token=participant.token)


@require_GET
@xframe_options_exempt
def legacy_mturk_entry(request: HttpRequest, slug: str) -> HttpResponse:
    """The old ``/w/mturk/<slug>/`` entry: forward, query string intact, to the MTurk app's entry page,
    so a link to it can never skip the returning-worker check or the qualification grant."""
    url = reverse("mturk:entry", args=[slug])
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{url}?{query}" if query else url)


# --- the page ---------------------------------------------------------------------------------


STEP_TEMPLATES = {
    selectors.Step.CONSENT: "experiments/worker/consent.html",
}
STEP_REDIRECTS = {
    selectors.Step.HEADPHONES: "experiments:headphones",
    selectors.Step.QUESTIONNAIRE: "experiments:questionnaire",
}


@worker_view
@require_GET
def worker_page(request: HttpRequest, participant: Participant) -> HttpResponse:
    assignment = selectors.current_assignment(participant)
    step = selectors.worker_step(participant, assignment)
    context = {"participant": participant, "experiment": participant.experiment, "token": participant.token}
    if step in STEP_TEMPLATES:
        return render(request, STEP_TEMPLATES[step], context)
    if step in STEP_REDIRECTS:
        return redirect(STEP_REDIRECTS[step], token=participant.token)
    if step == selectors.Step.SCREENED_OUT:
        return screened_out_page(request, participant, context)
    if step == selectors.Step.AUDIO:
        return audio_check_page(request, participant, context)
    if step == selectors.Step.START:
        return start_page(request, participant, context)
    if step == selectors.Step.EXPIRED:
        if allocation.revive_assignment(assignment=assignment):
            return redirect("experiments:worker", token=participant.token)
        return start_page(request, participant, context | {"expired": True})
    if step == selectors.Step.DONE:
        response = render(request, "experiments/worker/done.html", context | {"assignment": assignment})
        # MTurk's completion form (mturk/templates/experiments/worker/done.html) posts to turkSubmitTo.
        return worker_headers(
            response, submit_hosts=settings.MTURK_SUBMIT_HOSTS if participant.source == "mturk" else ()
        )
    answers.touch_assignment(assignment=assignment)
    context["runner"] = selectors.runner_config(participant.token)
    return render(request, "experiments/worker/trials.html", context)


def start_page(request: HttpRequest, participant: Participant, context: dict) -> HttpResponse:
    """The trial page with the start card: the runner is loaded already, and Start joins in one request
    (``api_begin``) and shows the first trial without leaving the page."""
    context["runner"] = selectors.runner_config(participant.token, ready_to_begin=True)
    return render(request, "experiments/worker/trials.html", context | {"start": True})


def screened_out_page(request: HttpRequest, participant: Participant, context: dict) -> HttpResponse:
    on_fail = screening_selectors.headphone_plan(participant.experiment).on_fail
    response = render(request, "experiments/worker/screened_out.html", context | {"on_fail": on_fail})
    # On MTurk with "on_fail": "submit", the page's form submits the HIT with a screening code.
    submit = participant.source == "mturk" and on_fail == "submit"
    return worker_headers(response, submit_hosts=settings.MTURK_SUBMIT_HOSTS if submit else ())


def audio_check_page(request: HttpRequest, participant: Participant, context: dict) -> HttpResponse:
    attempt = participants.issue_audio_check(participant=participant)  # what it is stays server-side
    if attempt is None:
        return redirect("experiments:worker", token=participant.token)
    limit = participants.audio_check_attempt_limit()
    context |= audio_check_selectors.page_context(attempt, attempt_limit=limit)
    return render(request, "experiments/worker/audio_check.html", context)


@worker_view
@require_POST
def consent(request: HttpRequest, participant: Participant) -> HttpResponse:
    if request.POST.get("agree") != "yes":
        return message_page(
            request, "Thank you", "You did not agree to take part, so nothing was recorded. You can close this page."
        )
    participants.record_consent(participant=participant)
    return redirect("experiments:worker", token=participant.token)


@worker_view
@require_POST
def audio_check(request: HttpRequest, participant: Participant) -> HttpResponse:
    number = request.POST.get("attempt", "")
    participants.answer_audio_check(
        participant=participant,
        attempt_number=int(number) if number.isascii() and number.isdigit() and len(number) <= 3 else 0,
        answer=request.POST,
    )
    return redirect("experiments:worker", token=participant.token)


@require_GET
@xframe_options_exempt
@never_cache
def audio_check_sound(request: HttpRequest, signed: str) -> HttpResponse:
    """The sound of an open sound-check attempt, synthesised from its stored parameters (nothing is stored)."""
    attempt = audio_check_selectors.attempt_for_sound_token(signed)
    if attempt is None:
        raise Http404("This sound link is invalid or expired; reload the page.")
    response = ranged_bytes_response(request, audio_check_selectors.sound_bytes(attempt), content_type="audio/wav")
    return worker_headers(response)


# Join refusals that are a step of the worker page rather than a message: the page shows what to do.
STEP_CODES = frozenset({"not_ready", "screened_out"})


@lean_request  # a burst of joins when a study launches: no session, user, CSRF check or messages needed
@csrf_exempt
@xframe_options_exempt
@never_cache
@require_POST
def begin(request: HttpRequest, token: str) -> HttpResponse:
    """The start form without the runner (the runner joins through ``api_begin`` without leaving the page)."""
    try:
        begun = allocation.begin_work(session_token=token)
    except allocation.AllocationError as exc:
        if exc.code in STEP_CODES:  # the worker page shows the step they are at
            return worker_headers(redirect("experiments:worker", token=token))
        return message_page(request, "No work available", exc.reason)
    if begun is None:
        raise Http404("Unknown session.")
    return worker_headers(redirect("experiments:worker", token=token))


# --- JSON API ---------------------------------------------------------------------------------


@lean_request
@csrf_exempt
@never_cache
@require_POST
def api_begin(request: HttpRequest, token: str) -> JsonResponse:
    """The join in one request: hand out (or return) the assignment and answer with the state ``api_state``
    gives, so the runner starts without another round trip. Refusals are JSON with a ``code``."""
    try:
        begun = allocation.begin_work(session_token=token)
    except allocation.AllocationError as exc:
        step = exc.code in STEP_CODES
        return worker_headers(JsonResponse({"error": exc.reason, "code": exc.code, "reload": step}, status=409))
    if begun is None:
        raise Http404("Unknown session.")
    # Handed out just now, nothing in it is answered: its state needs no query.
    if begun.fresh:
        state = selectors.fresh_state(begun.assignment)
    else:  # the worker came back to an assignment they hold: as ``api_state`` answers them
        state = selectors.state_for_token(token)
        answers.touch_assignment(assignment=state.assignment)
    return worker_headers(JsonResponse(selectors.state_json(state)))


@lean_request
@csrf_exempt
@never_cache
@require_GET
def api_state(request: HttpRequest, token: str) -> JsonResponse:
    state = selectors.state_for_token(token)  # one query: joins come in bursts
    if state is None:
        raise Http404("Unknown session, or no assignment yet.")
    answers.touch_assignment(assignment=state.assignment)
    return worker_headers(JsonResponse(selectors.state_json(state)))


@lean_request
@csrf_exempt
@never_cache
@require_GET
def api_trial(request: HttpRequest, token: str, position: int) -> JsonResponse:
    found = selectors.trial_request_for_token(token, position)
    if found is None:
        raise Http404("Unknown session, or no assignment yet.")
    if not selectors.may_fetch(n_trials=found.n_trials, n_answered=found.n_answered, position=position):
        response = JsonResponse({"error": "Answer the current trial first.", "code": "not_yet"}, status=403)
    else:
        response = JsonResponse(
            selectors.worker_trial_payload(
                assignment_id=found.assignment_id,
                position=position,
                direction=found.direction,
                is_choice=found.is_choice,
            )
        )
    return worker_headers(response)


def parse_answer(request: HttpRequest) -> AnswerInput:
    """The answer in a worker's request; raises ``AnswerRejected`` (4xx) before reading an oversized body."""
    answer_input.check_envelope(
        content_type=request.META.get("CONTENT_TYPE", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
    )
    return answer_input.parse(request.body)


@lean_request
@csrf_exempt
@never_cache
@require_POST
def api_answer(request: HttpRequest, token: str) -> JsonResponse:
    # The hot path: the service resolves the token while locking the assignment (one query less).
    try:
        receipt = fastpath.record_answer_fast(session_token=token, answer=parse_answer(request))
    except AnswerRejected as exc:
        status = 404 if exc.code == "no_assignment" else exc.status
        response = JsonResponse(exc.as_json(), status=status)
    except IntegrityError:
        response = JsonResponse({"error": "This answer was already stored.", "code": "already_answered"}, status=409)
    else:
        body = receipt.as_json()
        if receipt.upcoming is not None:  # one round trip per answer: the trial the runner preloads next
            upcoming = receipt.upcoming  # (not dataclasses.asdict: it deep-copies, 2 % of an answer's CPU)
            body["next"] = selectors.worker_trial_payload(
                assignment_id=upcoming.assignment_id,
                position=upcoming.position,
                direction=upcoming.direction,
                is_choice=upcoming.is_choice,
            )
        response = JsonResponse(body, status=200)
    return worker_headers(response)


# --- media ------------------------------------------------------------------------------------


@require_GET
@xframe_options_exempt
def media(request: HttpRequest, signed: str) -> HttpResponse:
    """Serve one trial's media from an opaque sealed token."""
    try:
        payload = selectors.read_media_token(signed)
    except BadToken as exc:
        raise Http404("This media link is invalid or expired; reload the page.") from exc
    if "b" in payload:  # staff preview of a bundle
        if not (request.user.is_authenticated and request.user.is_staff):
            raise Http404("Not found.")
        bundle_id = payload["b"]
    else:
        bundle_id = selectors.bundle_id_of_assignment(payload.get("t"))
    trial = selectors.trial_for(bundle_id, payload.get("p")) if bundle_id else None
    found = selectors.media_file_for(trial, payload.get("s")) if trial else None
    if found is None or not default_storage.exists(found.name):
        raise Http404("This trial's media is not available yet.")
    return ranged_file_response(
        request, found.name, content_type=found.content_type, max_age_s=settings.MVFIT_MEDIA_URL_MAX_AGE_S
    )
