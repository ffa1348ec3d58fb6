"""Whether a participant owes the questionnaire now, and what its page shows."""

from __future__ import annotations

from experiments import questionnaire
from experiments.models import Participant


def questionnaire_for(participant: Participant) -> questionnaire.Questionnaire | None:
    return questionnaire.parse((participant.experiment.config or {}).get("questionnaire"))


def owes_questionnaire(participant: Participant, *, when: str) -> bool:
    """True while the experiment has a questionnaire given ``when`` ("before"/"after") and it is unanswered."""
    definition = questionnaire_for(participant)
    if definition is None or definition.when != when:
        return False
    return not hasattr(participant, "questionnaire") or participant.questionnaire is None


def page_items(definition: questionnaire.Questionnaire, *, values=None, problems=()) -> list[dict]:
    """The items as the template renders them, with the worker's previous input and messages."""
    errors = {p.key: p.message for p in problems}
    values = values or {}
    rows = []
    for item in definition.items:
        row = item.as_dict() | {"value": values.get(item.key, ""), "error": errors.get(item.key, "")}
        if item.type == "likert":
            row["points"] = list(range(item.minimum, item.maximum + 1))
        rows.append(row)
    return rows
