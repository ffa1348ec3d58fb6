"""Who may enter an experiment through its MTurk page: the one home of the MTurk entry policy.

MTurk opens our task page with ``assignmentId``, ``hitId``, ``workerId`` and ``turkSubmitTo`` in the
query string, and anyone can type such a URL. So an entry is accepted only when

* ``turkSubmitTo`` is one of MTurk's hosts (``MTURK_SUBMIT_HOSTS``: the completion form posts the
  assignment id there), and it is the host of the marketplace the HIT was published in: a live HIT
  only from ``https://www.mturk.com``, a sandbox HIT only from any other allowed host;
* ``hitId`` is a HIT we created on MTurk, in a published batch (not a draft) of *this* experiment's
  MTurk study. An experiment never published on MTurk therefore has no MTurk entry at all: it is
  reachable only through its invite links;
* the worker has not taken part in the study under another assignment (our own records, because MTurk
  applies the exclusion qualification with a delay).

Then the experiments app creates (or resumes) the participant keyed by (workerId, assignmentId), the
verified HIT is recorded with it (:class:`mturk.models.MTurkEntry`), and the worker is granted the
exclusion qualification in the background. A refused entry writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from experiments.models import Experiment, Participant
from experiments.services import participants
from mturk.models import Hit, HitBatch, HitState, MTurkEntry
from mturk.modes import SUBMIT_HOSTS, Mode
from mturk.selectors import worker_has_taken_part
from mturk.services.scheduling import record_worker_start

NOT_OUR_HIT = (
    "This page only opens from a HIT of this study on Mechanical Turk. Please find the HIT on the MTurk "
    "website and open it from there."
)


class EntryRefused(Exception):
    """The worker may not enter; ``title`` and ``message`` are safe to show them, ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int = 403, title: str = "Cannot start") -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


@dataclass(frozen=True)
class MTurkVisit:
    """The parameters MTurk appends to the task URL (untrusted: anyone can type them)."""

    assignment_id: str = ""
    hit_id: str = ""
    worker_id: str = ""
    turk_submit_to: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> MTurkVisit:
        return cls(
            assignment_id=query.get("assignmentId", "").strip()[:128],
            hit_id=query.get("hitId", "").strip()[:64],
            worker_id=query.get("workerId", "").strip()[:128],
            turk_submit_to=query.get("turkSubmitTo", "").strip()[:300],
        )

    @property
    def is_preview(self) -> bool:
        return self.assignment_id in ("", participants.MTURK_PREVIEW_ASSIGNMENT)


def allowed_submit_host(turk_submit_to: str) -> bool:
    return turk_submit_to.rstrip("/") in {host.rstrip("/") for host in settings.MTURK_SUBMIT_HOSTS}


def submit_host_mode(turk_submit_to: str) -> Mode | None:
    """The marketplace a ``turkSubmitTo`` belongs to: live only for MTurk's live host, sandbox for every
    other allowed host (MTurk's sandbox, or a test's local stand-in); ``None`` when it is not allowed."""
    if not allowed_submit_host(turk_submit_to):
        return None
    return Mode.LIVE if turk_submit_to.rstrip("/") == SUBMIT_HOSTS[Mode.LIVE] else Mode.SANDBOX


def verified_hit(*, experiment: Experiment, hit_id: str, mode: Mode | None) -> Hit:
    """Our HIT ``hit_id``, created on MTurk in a published batch of ``experiment`` (and, given ``mode``,
    in that marketplace); raises :class:`EntryRefused` otherwise, with one message for every case so the
    page does not tell a prober which HIT ids exist."""
    hit = (
        Hit.objects.select_related("batch")
        .filter(
            hit_id=hit_id,
            state=HitState.CREATED,
            batch__study__experiment=experiment,
        )
        .exclude(batch__state=HitBatch.State.DRAFT)
        .first()
        if hit_id
        else None
    )
    if hit is None or (mode is not None and hit.batch.mode != mode):
        raise EntryRefused(NOT_OUR_HIT)
    return hit


def check_preview(*, experiment: Experiment, visit: MTurkVisit) -> None:
    """A HIT preview shows only instructions and a sample, but only for a HIT of this experiment."""
    mode = submit_host_mode(visit.turk_submit_to) if visit.turk_submit_to else None
    verified_hit(experiment=experiment, hit_id=visit.hit_id, mode=mode)


@transaction.atomic
def enter_from_hit(*, experiment: Experiment, visit: MTurkVisit, user_agent: str = "") -> Participant:
    """The participant for an accepted assignment of one of our HITs, after every check of the module
    docstring; created on the first visit, resumed on later ones."""
    if not visit.worker_id or visit.is_preview:
        raise EntryRefused("This page needs an accepted HIT (workerId is missing).", status=400)
    mode = submit_host_mode(visit.turk_submit_to)
    if mode is None:
        raise EntryRefused(
            "This link did not come from Mechanical Turk. Please open the HIT from the MTurk website.", status=400
        )
    hit = verified_hit(experiment=experiment, hit_id=visit.hit_id, mode=mode)
    study = hit.batch.study
    known = Participant.objects.filter(
        experiment=experiment, worker_id=visit.worker_id, assignment_id=visit.assignment_id
    ).first()
    if known is None:
        returning = Participant.objects.filter(experiment=experiment, worker_id=visit.worker_id).exists()
        if returning or worker_has_taken_part(study=study, mode=mode, worker_id=visit.worker_id):
            raise EntryRefused(
                "Thank you, but this study allows one participation per worker. Please return this HIT so "
                "that another worker can take it.",
                title="You have already taken part",
            )
    elif hasattr(known, "mturk_entry") and known.mturk_entry.hit_id != hit.pk:
        raise EntryRefused(NOT_OUR_HIT)  # an assignment belongs to one HIT: this one is made up
    try:
        participant = participants.enter_via_mturk(
            experiment=experiment,
            worker_id=visit.worker_id,
            assignment_id=visit.assignment_id,
            hit_id=hit.hit_id,
            turk_submit_to=visit.turk_submit_to,
            user_agent=user_agent,
        )
    except participants.EntryError as exc:
        raise EntryRefused(str(exc)) from exc
    MTurkEntry.objects.get_or_create(participant=participant, defaults={"hit": hit})
    record_worker_start(study=study, mode=mode, worker_id=visit.worker_id)
    return participant
