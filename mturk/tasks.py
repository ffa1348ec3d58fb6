"""Celery tasks: thin wrappers around services, taking primary keys, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from mturk.client import MTurkError, MTurkThrottled
from mturk.models import QualificationGrant
from mturk.services import reconciliation
from mturk.services.audit import open_mturk
from mturk.services.qualifications import grant_exclusion, resend_pending_grants

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=6)
def grant_exclusion_qualification(self, grant_pk: int) -> str:
    grant = QualificationGrant.objects.select_related("exclusion").get(pk=grant_pk)
    if grant.state == QualificationGrant.State.GRANTED:
        return grant.state
    # Granting moves no money; a live grant only exists because a live batch was confirmed.
    mturk = open_mturk(mode=grant.exclusion.mode, confirm_live=True, actor="celery: grant qualification")
    try:
        grant_exclusion(grant=grant, mturk=mturk)
    except MTurkError as exc:
        if exc.outcome_unknown or isinstance(exc, MTurkThrottled):
            raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
        logger.warning("MTurk refused exclusion grant %s: %s", grant_pk, exc)  # recorded on the row
        return QualificationGrant.State.FAILED
    return QualificationGrant.State.GRANTED


@shared_task
def sync_published_batches() -> dict:
    """Beat task: refresh HITs and assignments of every published batch, then reconcile."""
    summary = {}
    for mode in reconciliation.modes_to_sync():
        mturk = open_mturk(mode=mode, confirm_live=True, actor="celery beat: sync")
        report = reconciliation.sync_and_reconcile(
            mturk=mturk, participants=reconciliation.default_participant_source()
        )
        summary[str(mode)] = {**report.as_dict(), "grants_resent": resend_pending_grants(mturk=mturk)}
        logger.info("MTurk %s sync: %s", mode, report.as_dict())
    return summary
