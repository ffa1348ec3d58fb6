"""Entering a study from Prolific, and going back to Prolific with the right completion code.

Prolific opens the study URL with ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID`` in the query string;
anyone can type such a URL, so an entry is accepted only when ``STUDY_ID`` is a registered, active
Prolific study of *this* experiment and the ids have Prolific's form (24 hex digits; a session id of
letters and digits). One participant per Prolific id and experiment, bound to the first browser like a
panel id (``recruitment.services``). At the end the participant follows a link to Prolific's completion
URL with the study's COMPLETED (or SCREENED_OUT) code, which is how Prolific records the submission.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.attention import failed_attention
from experiments.models import Experiment, ParticipantSource
from experiments.selectors.attention import attention_score
from recruitment.models import ProlificEntry, ProlificStudy
from recruitment.services import PanelRefused, PanelVisit, enter, first_visit, resume

PROLIFIC_ID = re.compile(r"^[0-9a-f]{24}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOT_FROM_PROLIFIC = (
    "This page only opens from this study's page on Prolific. Please start the study from Prolific "
    "(app.prolific.com) so that your submission is recorded."
)


def study_url_parameters() -> str:
    """The query string to append to the entry URL on Prolific (its placeholders, filled in by Prolific)."""
    return "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


@transaction.atomic
def register_study(
    *,
    experiment: Experiment,
    study_id: str,
    completion_code: str,
    screened_out_code: str = "",
    failed_attention_code: str = "",
) -> ProlificStudy:
    if not PROLIFIC_ID.match(study_id.strip().lower()):
        raise ValidationError({"study_id": ["Prolific's study id: 24 hex digits, as in the study's URL on Prolific."]})
    study = ProlificStudy(
        experiment=experiment,
        study_id=study_id.strip().lower(),
        completion_code=completion_code.strip(),
        screened_out_code=screened_out_code.strip(),
        failed_attention_code=failed_attention_code.strip(),
    )
    study.full_clean()
    study.save()
    return study


def cookie_name(experiment: Experiment) -> str:
    return f"mvfit_prolific_{experiment.pk}"


@transaction.atomic
def enter_via_prolific(
    *, experiment: Experiment, query: dict[str, str], resume_cookie: str = "", user_agent: str = ""
) -> PanelVisit:
    pid = query.get("PROLIFIC_PID", "").strip().lower()
    study_id = query.get("STUDY_ID", "").strip().lower()
    session = query.get("SESSION_ID", "").strip()
    if not (PROLIFIC_ID.match(pid) and PROLIFIC_ID.match(study_id) and SESSION_ID.match(session)):
        raise PanelRefused(NOT_FROM_PROLIFIC)
    study = ProlificStudy.objects.filter(experiment=experiment, study_id=study_id, active=True).first()
    if study is None:
        raise PanelRefused(NOT_FROM_PROLIFIC, status=403)
    worker_id = f"prolific:{pid}"
    existing = (
        ProlificEntry.objects.select_related("participant")
        .filter(participant__experiment=experiment, participant__worker_id=worker_id)
        .first()
    )
    if existing is not None:
        return resume(existing.participant, resume_cookie=resume_cookie, what="Prolific id")
    participant = enter(
        experiment=experiment, source=ParticipantSource.PROLIFIC, worker_id=worker_id, user_agent=user_agent
    )
    ProlificEntry.objects.create(study=study, participant=participant, session_id=session)
    return first_visit(participant)


def exit_url(*, entry: ProlificEntry, screened_out: bool) -> str:
    """Prolific's completion URL with the study's code: SCREENED_OUT when screened out, FAILED_ATTENTION_CHECK
    when the participant finished below the study's attention-check pass rate (``experiments.attention``),
    each when the study has one; COMPLETED otherwise."""
    study = entry.study
    code = study.completion_code
    if screened_out and study.screened_out_code:
        code = study.screened_out_code
    elif not screened_out and study.failed_attention_code:
        passed, total = attention_score(entry.participant)
        if failed_attention(passed=passed, total=total, min_pass_rate=study.min_attention_pass_rate):
            code = study.failed_attention_code
    return f"{settings.PROLIFIC_COMPLETION_URL}?{urlencode({'cc': code})}"
