"""Where background work is enqueued: the only mturk module besides the beat schedule that imports
``mturk.tasks``. Tasks import the work modules (``services.qualifications``, ``services.reconciliation``),
never this one, so no module both enqueues a task and does the work it calls (no import circle).

Every dispatch waits for the surrounding transaction to commit (``transaction.on_commit``) and passes ids.
"""

from __future__ import annotations

import logging

from django.db import transaction

from mturk.models import ExclusionQualification, MTurkStudy, QualificationGrant
from mturk.modes import Mode
from mturk.tasks import grant_exclusion_qualification

logger = logging.getLogger(__name__)


@transaction.atomic
def record_worker_start(*, study: MTurkStudy, mode: Mode, worker_id: str) -> QualificationGrant | None:
    """A worker began the study: remember it and grant the exclusion qualification in the background."""
    exclusion = ExclusionQualification.objects.filter(study=study, mode=mode).first()
    if exclusion is None:
        return None
    grant, created = QualificationGrant.objects.get_or_create(exclusion=exclusion, worker_id=worker_id)
    if created:
        transaction.on_commit(lambda: dispatch_grant(grant_pk=grant.pk))
    return grant


def dispatch_grant(*, grant_pk: int) -> None:
    # A worker's page must never fail because MTurk (or the broker) did: the row already excludes the
    # worker in our database, and the periodic sync re-sends grants that are still pending.
    try:
        grant_exclusion_qualification.delay(grant_pk)
    except Exception:
        logger.exception("Could not dispatch exclusion grant %s; the periodic sync will retry it.", grant_pk)
