"""Match what MTurk says was submitted against who actually worked in our database. Plain data only.

Participants are keyed by (worker id, assignment id). MTurk reuses an assignment id after a worker
returns the HIT, and ListAssignmentsForHIT only ever shows the worker who finally submitted it, so:

* a remote submission with no participant of the same (worker, assignment) -> ``submitted_unknown``
  (someone did the HIT on MTurk but we have no record of their work: review before paying);
* a participant who finished with us but has no remote submission after a grace period ->
  ``known_not_submitted`` (the externalSubmit probably failed; the worker may need a completion-code
  path or a compensation bonus);
* an unfinished participant whose assignment id was submitted by someone else -> ``returned`` (the
  worker returned the HIT and MTurk handed the id to another worker: expected, not an error);
* an unfinished participant otherwise -> ``in_progress``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from .client import RemoteAssignment

DEFAULT_GRACE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class LocalParticipant:
    worker_id: str
    assignment_id: str
    hit_id: str
    completed_at: dt.datetime | None
    completion_code: str = ""  # what the worker can quote to us if the submit to MTurk failed
    ref: object = None  # the caller's own handle (e.g. a primary key), passed through untouched

    @property
    def key(self) -> tuple[str, str]:
        return (self.worker_id, self.assignment_id)


@dataclass
class Reconciliation:
    matched: list[tuple[RemoteAssignment, LocalParticipant]] = field(default_factory=list)
    submitted_unknown: list[RemoteAssignment] = field(default_factory=list)
    known_not_submitted: list[LocalParticipant] = field(default_factory=list)
    awaiting_submission: list[LocalParticipant] = field(default_factory=list)
    returned: list[LocalParticipant] = field(default_factory=list)
    in_progress: list[LocalParticipant] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.__dataclass_fields__}


def reconcile(
    remote: Iterable[RemoteAssignment],
    local: Iterable[LocalParticipant],
    *,
    now: dt.datetime,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> Reconciliation:
    result = Reconciliation()
    remote_by_key = {(r.worker_id, r.assignment_id): r for r in remote}
    submitted_assignment_ids = {assignment_id for _, assignment_id in remote_by_key}
    local_by_key = {}
    for participant in local:
        local_by_key[participant.key] = participant

    for key, assignment in remote_by_key.items():
        participant = local_by_key.get(key)
        if participant is None:
            result.submitted_unknown.append(assignment)
        else:
            result.matched.append((assignment, participant))

    for key, participant in local_by_key.items():
        if key in remote_by_key:
            continue
        if participant.completed_at is not None:
            if now - participant.completed_at >= grace:
                result.known_not_submitted.append(participant)
            else:
                result.awaiting_submission.append(participant)
        elif participant.assignment_id in submitted_assignment_ids:
            result.returned.append(participant)
        else:
            result.in_progress.append(participant)
    return result
