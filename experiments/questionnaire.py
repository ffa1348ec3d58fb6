"""The participant questionnaire: ready-made blocks and custom items, defined in the design config, no code.

An experiment's config may carry::

    "questionnaire": {"when": "after", "blocks": ["demographics", "device", "hearing", "musical_training",
                      "comments"], "items": [{"key": "fav_genre", "type": "choice", "label": "...",
                      "options": ["Rock", "Jazz"], "required": false}]}

``when``: ``before`` the trials (after the screens) or ``after`` them (before the completion page).
Item types: ``choice`` (one of ``options``), ``likert`` (1..``points``, labelled at the ends), ``number``
(an integer within ``min``..``max``) and ``text`` (one line, at most ``max_length`` characters).
Every item but ``comments`` is required unless ``"required": false``; an optional item may be skipped.

Musical training is the Goldsmiths Musical Sophistication Index's *Musical Training* subscale (Müllensiefen,
Gingras, Musil & Stewart, 2014, "The musicality of non-musicians: an index for assessing musical
sophistication in the general population", *PLoS ONE* 9(2): e89642, published under the Creative Commons
Attribution licence; the authors make the Gold-MSI freely available for research): seven items, each
scored 1-7 (items 1 and 2 reversed), summed to 7-49 (:func:`gold_msi_training_score`).

Validation (:func:`validate_definition`, :func:`validate_answers`) is pure Python, shared by the design
config and the worker's form; nothing here imports Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WHEN = ("before", "after")
TYPES = ("choice", "likert", "number", "text")
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
MAX_ITEMS = 60
MAX_TEXT = 1000
PREFER_NOT = "Prefer not to say"
AGREE_7 = (
    "Completely disagree",
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
    "Completely agree",
)


class QuestionnaireError(ValueError):
    """A questionnaire definition or answer that cannot be accepted; the message says what to change."""


@dataclass(frozen=True)
class Item:
    key: str
    type: str
    label: str
    options: tuple[str, ...] = ()
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    block: str = "custom"
    scores: tuple[int, ...] = field(default=())  # Gold-MSI: the score of each option

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": self.type, "label": self.label, "required": self.required}
        if self.options:
            out["options"] = list(self.options)
        if self.type == "number":
            out["min"], out["max"] = self.minimum, self.maximum
        if self.type == "text":
            out["max_length"] = self.max_length
        return out


def _gold_msi() -> tuple[Item, ...]:
    def years(label: str, key: str, options: tuple[str, ...]) -> Item:
        return Item(key, "choice", label, options, block="musical_training", scores=tuple(range(1, 8)))

    return (
        Item(
            "gmsi_mt_1",
            "choice",
            "I have never been complimented for my talents as a musical performer.",
            AGREE_7,
            block="musical_training",
            scores=tuple(range(7, 0, -1)),
        ),
        Item(
            "gmsi_mt_2",
            "choice",
            "I would not consider myself a musician.",
            AGREE_7,
            block="musical_training",
            scores=tuple(range(7, 0, -1)),
        ),
        years(
            "I engaged in regular, daily practice of a musical instrument (including voice) for ... years.",
            "gmsi_mt_3",
            ("0", "1", "2", "3", "4-5", "6-9", "10 or more"),
        ),
        years(
            "At the peak of my interest, I practised ... hours per day on my primary instrument.",
            "gmsi_mt_4",
            ("0", "0.5", "1", "1.5", "2", "3-4", "5 or more"),
        ),
        years(
            "I have had formal training in music theory for ... years.",
            "gmsi_mt_5",
            ("0", "0.5", "1", "2", "3", "4-6", "7 or more"),
        ),
        years(
            "I have had ... years of formal training on a musical instrument (including voice) during my lifetime.",
            "gmsi_mt_6",
            ("0", "0.5", "1", "2", "3-5", "6-9", "10 or more"),
        ),
        years("I can play ... musical instruments.", "gmsi_mt_7", ("0", "1", "2", "3", "4", "5", "6 or more")),
    )


BLOCKS: dict[str, tuple[Item, ...]] = {
    "demographics": (
        Item(
            "age_band",
            "choice",
            "Your age",
            ("18-24", "25-34", "35-44", "45-54", "55-64", "65 or older", PREFER_NOT),
            block="demographics",
        ),
        Item(
            "gender",
            "choice",
            "Your gender",
            ("Woman", "Man", "Non-binary", "Another gender", PREFER_NOT),
            block="demographics",
        ),
    ),
    "device": (
        Item(
            "listening_device",
            "choice",
            "What did you listen with?",
            ("Headphones", "Earbuds", "Computer or phone speakers", "External loudspeakers", "Other"),
            block="device",
        ),
    ),
    "hearing": (
        Item(
            "hearing_difficulty",
            "choice",
            "Do you have any difficulty with your hearing?",
            ("No", "Yes, a little", "Yes, a lot", "Not sure", PREFER_NOT),
            block="hearing",
        ),
    ),
    "musical_training": _gold_msi(),
    "comments": (
        Item(
            "comments",
            "text",
            "Any comments about the study? (optional)",
            required=False,
            max_length=MAX_TEXT,
            block="comments",
        ),
    ),
}


@dataclass(frozen=True)
class Questionnaire:
    when: str
    items: tuple[Item, ...]

    def item(self, key: str) -> Item:
        return next(i for i in self.items if i.key == key)


def _custom_item(raw: Any, index: int) -> Item:
    where = f"questionnaire item {index + 1}"
    if not isinstance(raw, Mapping):
        raise QuestionnaireError(f"{where} must be an object with key, type and label.")
    unknown = sorted(set(raw) - {"key", "type", "label", "options", "required", "min", "max", "max_length", "points"})
    if unknown:
        raise QuestionnaireError(f"{where}: unknown field(s) {', '.join(unknown)}.")
    key, kind, label = raw.get("key"), raw.get("type"), raw.get("label")
    if not isinstance(key, str) or not key or len(key) > 40 or not set(key) <= KEY_CHARS or key[0].isdigit():
        raise QuestionnaireError(
            f"{where}: 'key' must be 1-40 characters of a-z, 0-9 and _, not starting with a digit."
        )
    if kind not in TYPES:
        raise QuestionnaireError(f"{where} ({key}): 'type' must be one of {', '.join(TYPES)}, not {kind!r}.")
    if not isinstance(label, str) or not label.strip() or len(label) > 500:
        raise QuestionnaireError(f"{where} ({key}): 'label' must be a non-empty text of at most 500 characters.")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise QuestionnaireError(f"{where} ({key}): 'required' must be true or false.")
    if kind == "choice":
        options = raw.get("options")
        if (
            not isinstance(options, list)
            or not 2 <= len(options) <= 20
            or not all(isinstance(o, str) and o.strip() and len(o) <= 200 for o in options)
            or len(set(options)) != len(options)
        ):
            raise QuestionnaireError(f"{where} ({key}): 'options' must list 2-20 distinct, non-empty texts.")
        return Item(key, kind, label, tuple(options), required)
    if kind == "likert":
        points = raw.get("points", 7)
        ends = raw.get("options", ["Strongly disagree", "Strongly agree"])
        if not isinstance(points, int) or isinstance(points, bool) or not 3 <= points <= 11:
            raise QuestionnaireError(f"{where} ({key}): 'points' must be an integer from 3 to 11.")
        if not isinstance(ends, list) or len(ends) != 2 or not all(isinstance(e, str) and e.strip() for e in ends):
            raise QuestionnaireError(f"{where} ({key}): a likert item's 'options' are its two end labels.")
        return Item(key, kind, label, tuple(ends), required, minimum=1, maximum=points)
    if kind == "number":
        low, high = raw.get("min"), raw.get("max")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or low > high:
            raise QuestionnaireError(f"{where} ({key}): a number item needs integer 'min' <= 'max'.")
        return Item(key, kind, label, (), required, minimum=low, maximum=high)
    max_length = raw.get("max_length", 200)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= MAX_TEXT:
        raise QuestionnaireError(f"{where} ({key}): 'max_length' must be an integer from 1 to {MAX_TEXT}.")
    return Item(key, kind, label, (), required, max_length=max_length)


def parse(config: Mapping | None) -> Questionnaire | None:
    """The questionnaire of a validated definition (``None``: the experiment has none)."""
    if not config:
        return None
    items = [item for block in config.get("blocks", []) for item in BLOCKS[block]]
    items += [_custom_item(raw, i) for i, raw in enumerate(config.get("items", []))]
    return Questionnaire(when=config.get("when", "after"), items=tuple(items)) if items else None


def validate_definition(value: Any) -> dict[str, Any]:
    """The normalised ``questionnaire`` design config, or a :class:`QuestionnaireError` saying what is wrong."""
    if not isinstance(value, Mapping):
        raise QuestionnaireError('\'questionnaire\' must be an object like {"blocks": ["demographics"]}.')
    unknown = sorted(set(value) - {"when", "blocks", "items"})
    if unknown:
        raise QuestionnaireError(f"unknown questionnaire field(s): {', '.join(unknown)}; allowed: blocks, items, when.")
    when = value.get("when", "after")
    if when not in WHEN:
        raise QuestionnaireError(f"questionnaire 'when' must be 'before' or 'after', not {when!r}.")
    blocks = value.get("blocks", [])
    if not isinstance(blocks, list) or any(b not in BLOCKS for b in blocks) or len(set(blocks)) != len(blocks):
        raise QuestionnaireError(
            f"questionnaire 'blocks' must be distinct names from {', '.join(BLOCKS)}; got {blocks!r}."
        )
    items = value.get("items", [])
    if not isinstance(items, list):
        raise QuestionnaireError("questionnaire 'items' must be a list of item objects.")
    normalised = {"when": when, "blocks": [b for b in BLOCKS if b in blocks], "items": list(items)}
    parsed = parse(normalised)
    if parsed is None:
        raise QuestionnaireError("the questionnaire is empty: name some 'blocks' or define 'items'.")
    keys = [item.key for item in parsed.items]
    if len(set(keys)) != len(keys):
        clash = sorted({k for k in keys if keys.count(k) > 1})
        raise QuestionnaireError(f"questionnaire item keys must be unique; repeated: {', '.join(clash)}.")
    if len(keys) > MAX_ITEMS:
        raise QuestionnaireError(f"a questionnaire has at most {MAX_ITEMS} items, not {len(keys)}.")
    normalised["items"] = [item.as_dict() for item in parsed.items if item.block == "custom"]
    for raw, item in zip(normalised["items"], (i for i in parsed.items if i.block == "custom"), strict=True):
        if item.type == "likert":
            raw["points"] = item.maximum
    return normalised


@dataclass(frozen=True)
class AnswerProblem:
    key: str
    message: str


def validate_answers(
    questionnaire: Questionnaire, form: Mapping[str, str]
) -> tuple[dict[str, Any], list[AnswerProblem]]:
    """The accepted answers (``key -> value``; a skipped optional item is absent) and the problems, per item."""
    answers: dict[str, Any] = {}
    problems: list[AnswerProblem] = []
    for item in questionnaire.items:
        raw = form.get(item.key, "")
        value = raw.strip() if isinstance(raw, str) else ""
        if "\x00" in value:
            problems.append(AnswerProblem(item.key, "This answer contains a character that is not allowed."))
            continue
        if not value:
            if item.required:
                problems.append(AnswerProblem(item.key, "Please answer this question."))
            continue
        if item.type == "choice":
            if value not in item.options:
                problems.append(AnswerProblem(item.key, "Please pick one of the options."))
                continue
            answers[item.key] = value
        elif item.type in ("likert", "number"):
            if not (value.lstrip("-").isascii() and value.lstrip("-").isdigit()) or len(value) > 9:
                problems.append(AnswerProblem(item.key, "Please enter a whole number."))
                continue
            number = int(value)
            if not item.minimum <= number <= item.maximum:
                problems.append(
                    AnswerProblem(item.key, f"Please enter a number from {item.minimum} to {item.maximum}.")
                )
                continue
            answers[item.key] = number
        else:
            if len(value) > item.max_length:
                problems.append(AnswerProblem(item.key, f"Please keep this to {item.max_length} characters."))
                continue
            answers[item.key] = value
    return answers, problems


def gold_msi_training_score(answers: Mapping[str, Any]) -> int | None:
    """The Gold-MSI Musical Training score (7-49), or ``None`` unless all seven items were answered."""
    total = 0
    for item in BLOCKS["musical_training"]:
        value = answers.get(item.key)
        if value not in item.options:
            return None
        total += item.scores[item.options.index(value)]
    return total
