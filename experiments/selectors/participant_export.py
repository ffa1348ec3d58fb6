"""Participant-level rows of an export: ``participants``, ``questionnaire`` and ``headphone_trials``
(docs/export-format.md). Reads only; a fixed number of queries whatever the number of participants."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce

from experiments import questionnaire
from experiments.models import (
    Assignment,
    AssignmentStatus,
    Experiment,
    HeadphoneTrial,
    Participant,
    QuestionnaireResponse,
    Response,
)
from experiments.selectors.screening import headphone_plan
from experiments.services.pseudonyms import pseudonymise

STALL_EVENTS = {"stalled", "waiting"}
# (pattern, family) in the order they must be tried: Edge and Opera and Samsung's browser also say "Chrome",
# Chrome also says "Safari". A dozen tokens are all the export needs (family, not version), so no parser
# library is pulled in for it.
_BROWSERS = (
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
)
_TABLET = re.compile(r"iPad|Tablet|(Android(?!.*Mobile))", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android.*Mobile|Windows Phone", re.IGNORECASE)


def device_and_browser(user_agent: str) -> tuple[str, str]:
    """(device class, browser family) of a user agent; ``unknown`` for an empty one."""
    if not user_agent:
        return "unknown", "unknown"
    device = "tablet" if _TABLET.search(user_agent) else "mobile" if _MOBILE.search(user_agent) else "desktop"
    browser = next((family for pattern, family in _BROWSERS if pattern.search(user_agent)), "Other")
    return device, browser


def _count(model, *, field: str = "participant", **conditions) -> Subquery:
    rows = model.objects.filter(**{field: OuterRef("pk")}, **conditions).order_by().values(field)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0)


@dataclass
class _Activity:
    errors: Counter = field(default_factory=Counter)
    stalls: Counter = field(default_factory=Counter)
    hidden: Counter = field(default_factory=Counter)
    active_s: dict = field(default_factory=dict)


def _activity(participants: list[int]) -> _Activity:
    """Per participant: playback errors, stalls, times the page was hidden, time on trials."""
    found = _Activity()
    rows = Response.objects.filter(assignment__participant_id__in=participants).values_list(
        "assignment__participant_id", "events", "presented_at", "answered_at"
    )
    for participant_id, events, presented_at, answered_at in rows.iterator(2000):
        if presented_at and answered_at:
            seconds = max((answered_at - presented_at).total_seconds(), 0.0)
            found.active_s[participant_id] = found.active_s.get(participant_id, 0.0) + seconds
        for event in events if isinstance(events, list) else []:
            kind = event.get("type") if isinstance(event, dict) else None
            found.errors[participant_id] += kind == "error"
            found.stalls[participant_id] += kind in STALL_EVENTS
            found.hidden[participant_id] += kind == "hidden"
    return found


def _screen(participant: Participant, plan_has_tests: bool) -> str:
    if not plan_has_tests:
        return "none"
    if participant.headphone_passed_at is not None:
        return "passed"
    return "failed" if participant.screened_out_reason == "headphones" else "incomplete"


def participant_rows(experiments: Iterable[Experiment], *, key: str) -> Iterator[dict]:
    experiments = list(experiments)
    screens = {e.pk: bool(headphone_plan(e).tests) for e in experiments}
    participants = list(
        Participant.objects.filter(experiment__in=experiments)
        .annotate(
            completed=_count(Assignment, status=AssignmentStatus.COMPLETED),
            last_completed=Subquery(
                Assignment.objects.filter(participant=OuterRef("pk"), status=AssignmentStatus.COMPLETED)
                .order_by()
                .values("participant")
                .annotate(at=Max("completed_at"))
                .values("at")
            ),
            n_answers=_count(Response, field="assignment__participant", skipped_reason=""),
            n_skipped=_count(Response, field="assignment__participant", skipped_reason__gt=""),
            hp_trials=_count(HeadphoneTrial, answered_at__isnull=False),
            hp_correct=_count(HeadphoneTrial, correct=True),
        )
        .select_related("questionnaire")
        .order_by("experiment_id", "pk")
    )
    activity = _activity([p.pk for p in participants])
    for p in participants:
        device, browser = device_and_browser(p.user_agent)
        answers = getattr(p, "questionnaire", None)
        yield {
            "experiment_id": p.experiment_id,
            "participant_id": p.pk,
            "worker_id": pseudonymise(p.worker_id, key=key),
            "entry_channel": p.source,
            "entered_at": p.created_at,
            "consented_at": p.consented_at,
            "sound_check_attempts": p.audio_check_attempts,
            "sound_check_passed": p.audio_check_passed_at is not None,
            "headphone_screen": _screen(p, screens[p.experiment_id]),
            "headphone_trials": p.hp_trials,
            "headphone_correct": p.hp_correct,
            "screened_out_reason": p.screened_out_reason or None,
            "device_class": device,
            "browser_family": browser,
            "assignments_completed": p.completed,
            "answers": p.n_answers,
            "completed_at": p.last_completed,
            "total_time_s": (p.last_completed - p.created_at).total_seconds() if p.last_completed else None,
            "playback_errors": activity.errors[p.pk],
            "playback_stalls": activity.stalls[p.pk],
            "skipped_trials": p.n_skipped,
            "focus_changes": activity.hidden[p.pk],
            "active_time_s": activity.active_s.get(p.pk),
            "questionnaire_submitted": answers is not None,
            "gold_msi_training": questionnaire.gold_msi_training_score(answers.answers) if answers else None,
            "simulated": p.is_simulated,
        }


def questionnaire_rows(experiments: Iterable[Experiment], *, key: str) -> Iterator[dict]:
    rows = (
        QuestionnaireResponse.objects.filter(participant__experiment__in=list(experiments))
        .select_related("participant__experiment")
        .order_by("participant__experiment_id", "participant_id")
    )
    for response in rows.iterator(2000):
        participant = response.participant
        definition = questionnaire.parse((participant.experiment.config or {}).get("questionnaire"))
        blocks = {item.key: item.block for item in definition.items} if definition else {}
        for item, value in response.answers.items():
            yield {
                "experiment_id": participant.experiment_id,
                "participant_id": participant.pk,
                "worker_id": pseudonymise(participant.worker_id, key=key),
                "item": item,
                "block": blocks.get(item, "custom"),
                "value": str(value),
                "submitted_at": response.submitted_at,
            }


def headphone_trial_rows(experiments: Iterable[Experiment], *, key: str) -> Iterator[dict]:
    rows = (
        HeadphoneTrial.objects.filter(participant__experiment__in=list(experiments), answered_at__isnull=False)
        .select_related("participant")
        .order_by("participant__experiment_id", "participant_id", "issued_at", "pk")
    )
    for trial in rows.iterator(2000):
        yield {
            "experiment_id": trial.participant.experiment_id,
            "participant_id": trial.participant_id,
            "worker_id": pseudonymise(trial.participant.worker_id, key=key),
            "test": trial.test,
            "number": trial.number,
            "expected": trial.expected,
            "answer": trial.answer,
            "correct": trial.correct,
            "answered_at": trial.answered_at,
        }


_EVENT_FIELDS = {"type", "slot", "t", "at"}


def trial_event_rows(
    experiments: Iterable[Experiment], *, key: str, include_incomplete: bool = False
) -> Iterator[dict]:
    """The runner's events of every exported answer, one row each (same answers as ``ratings``/``choices``)."""
    rows = Response.objects.filter(assignment__experiment__in=list(experiments)).exclude(events=[])
    if not include_incomplete:
        rows = rows.filter(assignment__status=AssignmentStatus.COMPLETED)
    rows = rows.order_by("assignment__experiment_id", "assignment_id", "trial__position").values_list(
        "assignment__experiment_id",
        "assignment__participant_id",
        "assignment__participant__worker_id",
        "assignment_id",
        "trial__position",
        "events",
    )
    pseudonyms: dict[str, str] = {}
    for experiment_id, participant_id, worker, assignment_id, position, events in rows.iterator(2000):
        if worker not in pseudonyms:
            pseudonyms[worker] = pseudonymise(worker, key=key)
        for seq, event in enumerate(e for e in events if isinstance(e, dict)):
            rest = {k: v for k, v in event.items() if k not in _EVENT_FIELDS}
            t, at = event.get("t"), event.get("at")
            yield {
                "experiment_id": experiment_id,
                "participant_id": participant_id,
                "worker_id": pseudonyms[worker],
                "assignment_id": assignment_id,
                "trial_index": position,
                "seq": seq,
                "type": str(event.get("type", "")) or "unknown",
                "slot": event.get("slot") if isinstance(event.get("slot"), str) else None,
                "t_ms": round(t) if isinstance(t, int | float) and not isinstance(t, bool) else None,
                "media_time_s": float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None,
                "detail": json.dumps(rest, sort_keys=True) if rest else None,
            }


def skipped_trial_rows(experiments: Iterable[Experiment], *, key: str) -> Iterator[dict]:
    rows = (
        Response.objects.filter(assignment__experiment__in=list(experiments), skipped_reason__gt="")
        .select_related("assignment__participant", "trial__item")
        .order_by("assignment__experiment_id", "assignment_id", "trial__position")
    )
    for response in rows.iterator(2000):
        participant = response.assignment.participant
        item = response.trial.item
        yield {
            "experiment_id": response.assignment.experiment_id,
            "participant_id": participant.pk,
            "worker_id": pseudonymise(participant.worker_id, key=key),
            "assignment_id": response.assignment_id,
            "trial_index": response.trial.position,
            "reason": response.skipped_reason,
            "is_catch": response.is_catch,
            "pairing_ids": " ".join(map(str, item.pairing_ids)) if item else None,
            "playback_errors": sum(1 for e in response.events if isinstance(e, dict) and e.get("type") == "error"),
            "answered_at": response.answered_at,
            "received_at": response.received_at,
        }
