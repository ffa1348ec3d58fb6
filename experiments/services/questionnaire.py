"""Storing a participant's questionnaire answers, validated against the experiment's definition."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from experiments import questionnaire
from experiments.models import Participant, QuestionnaireResponse
from experiments.selectors.questionnaire import questionnaire_for


@transaction.atomic
def submit_questionnaire(*, participant: Participant, form: Mapping[str, str]) -> list[questionnaire.AnswerProblem]:
    """Validate and store the answers; returns the problems (nothing is stored unless there are none).
    A second submission (a double click, a reload) keeps the first answers."""
    definition = questionnaire_for(participant)
    if definition is None:
        return []
    answers, problems = questionnaire.validate_answers(definition, form)
    if problems:
        return problems
    try:
        with transaction.atomic():
            QuestionnaireResponse.objects.get_or_create(participant=participant, defaults={"answers": answers})
    except IntegrityError:  # a concurrent submission won: its answers stand
        pass
    return []
