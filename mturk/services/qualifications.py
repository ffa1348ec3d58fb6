"""The per-study exclusion qualification: one participation per worker per study.

A worker who starts the study is granted our qualification (``services.scheduling`` records the start
and enqueues the grant; this module does the work the task calls), and every HIT of the study requires that
workers do NOT have it (comparator DoesNotExist). Grants reach MTurk asynchronously and MTurk applies
them with a delay, so the worker entry page also checks our own rows (``selectors.worker_has_taken_part``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from mturk.client import MTurk, MTurkError
from mturk.models import ExclusionQualification, MTurkStudy, QualificationGrant

logger = logging.getLogger(__name__)


def exclusion_name(study: MTurkStudy) -> str:
    # Qualification type names are unique per requester account; the nonce keeps them unique across installs.
    return f"{study.name[:150]} - already took part ({study.nonce})"


def ensure_exclusion_qualification(*, study: MTurkStudy, mturk: MTurk) -> ExclusionQualification:
    existing = ExclusionQualification.objects.filter(study=study, mode=mturk.mode).first()
    if existing is not None:
        return existing
    name = exclusion_name(study)
    with mturk.audit_context(study_id=study.pk):
        try:
            qualification_type_id = mturk.create_qualification_type(
                name=name,
                description="Granted when you start this study, so that each worker takes part only once.",
                keywords="mvfit",
            )
        except MTurkError as exc:
            # A previous run may have created it and crashed before storing the id: find it by its unique name.
            found = mturk.find_own_qualification_type(name=name) if exc.code == "RequestError" else None
            if found is None:
                raise
            qualification_type_id = found
    exclusion, _ = ExclusionQualification.objects.get_or_create(
        study=study, mode=mturk.mode, defaults={"name": name, "qualification_type_id": qualification_type_id}
    )
    return exclusion


def group_exclusion_type_ids(*, study: MTurkStudy, mode: str) -> tuple[str, ...]:
    """The exclusion qualifications (in ``mode``) of the other MTurk studies that share an exclusion group with
    the study's experiment: everyone who started one of them holds its qualification, so requiring that
    workers do NOT hold it pushes the group to MTurk -- they never see this study's HITs. (The entry check,
    ``experiments.services.exclusion``, refuses them anyway, on every channel.)"""
    if study.experiment_id is None:
        return ()
    rows = (
        ExclusionQualification.objects.filter(
            mode=mode, study__experiment__exclusion_groups__experiments=study.experiment_id
        )
        .exclude(study=study)
        .values_list("qualification_type_id", flat=True)
        .distinct()
        .order_by("qualification_type_id")
    )
    return tuple(rows)


def grant_exclusion(*, grant: QualificationGrant, mturk: MTurk) -> QualificationGrant:
    """Send one grant to MTurk (idempotent: granting an existing qualification just sets its value)."""
    if grant.state == QualificationGrant.State.GRANTED:
        return grant
    QualificationGrant.objects.filter(pk=grant.pk).update(attempts=grant.attempts + 1)
    grant.attempts += 1
    with mturk.audit_context(study_id=grant.exclusion.study_id):
        try:
            mturk.associate_qualification_with_worker(
                qualification_type_id=grant.exclusion.qualification_type_id, worker_id=grant.worker_id
            )
        except MTurkError as exc:
            grant.error = str(exc)
            grant.state = QualificationGrant.State.PENDING if exc.outcome_unknown else QualificationGrant.State.FAILED
            grant.save(update_fields=["error", "state"])
            raise
    grant.state, grant.error, grant.granted_at = QualificationGrant.State.GRANTED, "", timezone.now()
    grant.save(update_fields=["state", "error", "granted_at"])
    return grant


def resend_pending_grants(*, mturk: MTurk, older_than_s: int = 300) -> int:
    """Grants whose dispatch or call was lost (still pending after a while) are sent again by the sync."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    pending = QualificationGrant.objects.filter(
        state=QualificationGrant.State.PENDING, exclusion__mode=mturk.mode, created_at__lt=cutoff
    ).select_related("exclusion")
    sent = 0
    for grant in pending:
        try:
            grant_exclusion(grant=grant, mturk=mturk)
        except MTurkError as exc:
            logger.warning("Exclusion grant %s still failing: %s", grant.pk, exc)
        else:
            sent += 1
    return sent
