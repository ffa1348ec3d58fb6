"""Celery tasks: thin wrappers around the work modules, taking ids, safe to run twice.

Transient MTurk failures (throttling, a fault inside MTurk, no answer: :class:`MTurkTransientError`)
are retried by Celery itself with exponential backoff and jitter; a refusal is final and recorded on
its row. Tasks are enqueued only by ``services.scheduling`` (after commit) and by the beat schedule.
"""

from __future__ import annotations

import logging

from celery import shared_task

from mturk.client import MTurkRequestError, MTurkTransientError
from mturk.models import QualificationGrant
from mturk.services import reconciliation
from mturk.services.audit import open_mturk
from mturk.services.qualifications import grant_exclusion, resend_pending_grants

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (MTurkTransientError,),
    "retry_backoff": 30,  # seconds before the first retry, doubling each time
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(**RETRY)
def grant_exclusion_qualification(grant_pk: int) -> str:
    grant = QualificationGrant.objects.select_related("exclusion").get(pk=grant_pk)
    if grant.state == QualificationGrant.State.GRANTED:
        return grant.state
    # Granting moves no money; a live grant only exists because a live batch was confirmed.
    mturk = open_mturk(mode=grant.exclusion.mode, confirm_live=True, actor="celery: grant qualification")
    try:
        grant_exclusion(grant=grant, mturk=mturk)
    except MTurkRequestError as exc:
        logger.warning("MTurk refused exclusion grant %s: %s", grant_pk, exc)  # recorded on the row
        return QualificationGrant.State.FAILED
    return QualificationGrant.State.GRANTED


@shared_task(**RETRY)
def sync_published_batches() -> dict:
    """Beat task: refresh HITs and assignments of every published batch, then reconcile (idempotent)."""
    summary = {}
    for mode in reconciliation.modes_to_sync():
        mturk = open_mturk(mode=mode, confirm_live=True, actor="celery beat: sync")
        report = reconciliation.sync_and_reconcile(
            mturk=mturk, participants=reconciliation.default_participant_source()
        )
        summary[str(mode)] = {**report.as_dict(), "grants_resent": resend_pending_grants(mturk=mturk)}
        logger.info("MTurk %s sync: %s", mode, report.as_dict())
    return summary
