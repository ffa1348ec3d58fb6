"""The experiment wizard's forms, and the adapter from their answers to the experiments services' parameters.

The rules live in the services (``experiments.services.designs``, ``experiments.design.config``): the wizard
asks them, and a ``DesignError`` they raise is shown next to the field it is about (:func:`field_of`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from annotation import selectors as annotation_selectors
from annotation.models import StimulusSet
from experiments import questionnaire
from experiments.design.config import (
    CHOICE_CATCH_KINDS,
    CONDITIONS,
    DIRECTIONS,
    RATING_CATCH_KINDS,
    SCREEN_KINDS,
    DesignError,
)
from experiments.models import ExperimentKind
from experiments.services.designs import DEFAULT_CONSENT, default_instructions
from mturk import fees
from recruitment.prolific_services import study_cost_cents
from workspace import selectors

STEPS = ("kind", "stimuli", "design", "review")
STEP_FIELDS = {
    "kind": ("title", "slug", "kind"),
    "stimuli": (
        "source",
        "stimulus_set",
        "scenes",
        "genres",
        "sample_pairs",
        "directions",
        "items_per_query",
        "conditions",
        "queries_per_direction",
    ),
    "design": (
        "judgments_per_item",
        "trials_per_assignment",
        "catch_trials_per_assignment",
        "catch_kinds",
        "headphones",
        "questionnaire_blocks",
        "questionnaire_when",
        "instructions",
        "consent_text",
        "seed",
    ),
}
DIRECTION_LABELS = {"V2M": "Video → music (choose the music for a video)", "M2V": "Music → video"}
CONDITION_LABELS = {
    "GR": "G-R: ground truth vs random",
    "GS": "G-S: ground truth vs search result (needs a search source)",
    "SR": "S-R: search result vs random (needs a search source)",
}
CATCH_LABELS = {
    "rating_instruction": "“Please answer N” on screen",
    "rating_silence": "A clip with no music (answer 1)",
    "choice_instruction": "“Choose THIS option” on screen",
}
HEADPHONE_LABELS = {
    "none": "No headphone screen",
    "antiphase": "Antiphase test (Woods et al.)",
    "huggins": "Huggins-pitch test (Milne et al.)",
    "both": "Both tests",
}


class KindForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="What you call the study (workers do not see it).")
    slug = forms.CharField(max_length=200, help_text="Short name used in links and exports: letters, digits, - and _.")
    kind = forms.ChoiceField(choices=ExperimentKind.choices, widget=forms.RadioSelect, initial=ExperimentKind.RATING)


class StimuliForm(forms.Form):
    source = forms.ChoiceField(
        choices=[
            ("all", "The whole library"),
            ("labels", "Clips by scene label and excerpts by genre"),
            ("set", "A named stimulus set (saved in the library)"),
        ],
        widget=forms.RadioSelect,
        initial="all",
        label="Stimuli",
    )
    stimulus_set = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Stimulus set (a side it leaves empty: every item)"
    )
    scenes = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Scene labels (none ticked: every clip)"
    )
    genres = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Genres (none ticked: every excerpt)"
    )
    sample_pairs = forms.IntegerField(
        required=False, label="Sample this many pairings at random (empty: every clip with every excerpt)"
    )
    directions = forms.MultipleChoiceField(
        choices=[(d, DIRECTION_LABELS[d]) for d in DIRECTIONS], widget=forms.CheckboxSelectMultiple, required=False
    )
    items_per_query = forms.IntegerField(required=False, initial=1, label="Choices per query")
    conditions = forms.MultipleChoiceField(
        choices=[(c, CONDITION_LABELS[c]) for c in CONDITIONS], widget=forms.CheckboxSelectMultiple, required=False
    )
    queries_per_direction = forms.IntegerField(
        required=False, label="Queries per direction (empty: every one with a ground-truth partner)"
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        scenes, genres = selectors.library_labels()
        self.fields["scenes"].choices = [(s.label, f"{s.label} ({s.n} clips)") for s in scenes]
        self.fields["genres"].choices = [(g.label, f"{g.label} ({g.n} excerpts)") for g in genres]
        self.fields["stimulus_set"].choices = [("", "—")] + [
            (s.pk, f"{s.name} ({s.n_clips} clips, {s.n_excerpts} excerpts)")
            for s in annotation_selectors.stimulus_sets()
        ]
        keep = {
            ExperimentKind.RATING: {"sample_pairs"},
            ExperimentKind.AFC: {"directions", "items_per_query"},
            ExperimentKind.PREFERENCE: {"directions", "conditions", "queries_per_direction"},
        }[kind]
        for name in ("sample_pairs", "directions", "items_per_query", "conditions", "queries_per_direction"):
            if name not in keep:
                del self.fields[name]
        if "directions" in self.fields:
            self.fields["directions"].initial = list(DIRECTIONS) if kind == ExperimentKind.PREFERENCE else ["V2M"]
        if "conditions" in self.fields:
            self.fields["conditions"].initial = ["GR"]

    def clean(self):
        data = super().clean()
        if data.get("source") == "labels" and not data.get("scenes") and not data.get("genres"):
            self.add_error("scenes", "Tick at least one scene label or genre, or choose the whole library.")
        if data.get("source") == "set" and data.get("stimulus_set") is None:
            self.add_error("stimulus_set", "Choose a stimulus set (save one on the library page), or another source.")
        return data


class DesignForm(forms.Form):
    judgments_per_item = forms.IntegerField(
        initial=9, label="k: judgments per item", help_text="How many workers judge each pairing or choice."
    )
    trials_per_assignment = forms.IntegerField(
        initial=50, label="Bundle size", help_text="Trials in one worker's assignment (attention checks on top)."
    )
    catch_trials_per_assignment = forms.IntegerField(initial=1, label="Attention checks per assignment")
    catch_kinds = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Kinds of attention check"
    )
    headphones = forms.ChoiceField(
        choices=[(k, HEADPHONE_LABELS[k]) for k in SCREEN_KINDS], initial="none", label="Headphone screen"
    )
    questionnaire_blocks = forms.MultipleChoiceField(
        choices=[(b, b.replace("_", " ").capitalize()) for b in questionnaire.BLOCKS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Questionnaire blocks",
    )
    questionnaire_when = forms.ChoiceField(
        choices=[("after", "After the trials"), ("before", "Before the trials")],
        initial="after",
        label="Questionnaire comes",
    )
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    consent_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Consent text")
    seed = forms.IntegerField(required=False, help_text="Empty: a random seed (stored, so the design is reproducible).")

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = RATING_CATCH_KINDS if kind == ExperimentKind.RATING else CHOICE_CATCH_KINDS
        self.fields["catch_kinds"].choices = [(c, CATCH_LABELS[c]) for c in allowed]
        self.fields["catch_kinds"].initial = list(allowed)
        self.fields["instructions"].initial = default_instructions(kind)
        self.fields["consent_text"].initial = DEFAULT_CONSENT


class CostForm(forms.Form):
    CHANNELS = [
        ("mturk", "Amazon Mechanical Turk (fees by MTurk's tiers)"),
        ("prolific", "Prolific (service fee)"),
        ("links", "Invite links or a panel link (rewards only)"),
    ]
    reward = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=6,
        decimal_places=2,
        initial=Decimal("1.50"),
        label="Reward per assignment ($)",
    )
    channel = forms.ChoiceField(choices=CHANNELS, initial="mturk", label="Recruitment channel")


# Which field a service's message is about: the first hint found in the message (lower-cased) wins.
_FIELD_HINTS = (
    ("stimulus set", "stimulus_set"),
    ("slug", "slug"),
    ("judgments_per_item", "judgments_per_item"),
    ("judgments per item", "judgments_per_item"),
    ("trials_per_assignment", "trials_per_assignment"),
    ("trials per assignment", "trials_per_assignment"),
    ("catch.kinds", "catch_kinds"),
    ("catch 'kinds'", "catch_kinds"),
    ("catch", "catch_trials_per_assignment"),
    ("screening", "headphones"),
    ("questionnaire", "questionnaire_blocks"),
    ("search", "conditions"),
    ("conditions", "conditions"),
    ("sample_pairs", "sample_pairs"),
    ("items_per_query", "items_per_query"),
    ("queries_per_direction", "queries_per_direction"),
    ("direction", "directions"),
    ("options to choose between", "directions"),
    ("clip", "source"),
    ("excerpt", "source"),
    ("ground-truth", "source"),
    ("items", "source"),
)


def field_of(message: str) -> tuple[str, str | None]:
    """(step, field) a service's error message is about; (step, None) for one no field owns."""
    text = message.lower()
    for hint, field in _FIELD_HINTS:
        if hint in text:
            step = next(s for s, fields in STEP_FIELDS.items() if field in fields)
            return step, field
    return "design", None


def _ids(values: list[str] | None) -> list[str] | None:
    return list(values) if values else None


def experiment_parameters(state: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``create_draft_experiment`` (and ``summarise_design``) for the wizard's answers.

    ``state`` holds each step's cleaned data (JSON-safe, as kept in the session); a missing step gets
    its form's defaults, so the stimuli step can be checked before the design step is filled in.
    """
    kind_step, stimuli, design = state["kind"], state.get("stimuli", {}), state.get("design", {})
    kind = kind_step["kind"]
    by_labels = stimuli.get("source") == "labels"
    scenes = _ids(stimuli.get("scenes")) if by_labels else None
    genres = _ids(stimuli.get("genres")) if by_labels else None
    # A named set gives the ids itself; a side the set leaves empty means every item (as with labels).
    set_clips: list[int] | None = None
    set_excerpts: list[int] | None = None
    if stimuli.get("source") == "set" and stimuli.get("stimulus_set") is not None:
        try:
            set_clips, set_excerpts = annotation_selectors.resolve_stimulus_set(set_id=stimuli["stimulus_set"])
        except StimulusSet.DoesNotExist:
            raise DesignError("The chosen stimulus set no longer exists: choose another one.") from None
        set_clips, set_excerpts = set_clips or None, set_excerpts or None
    catch_kinds = design.get("catch_kinds")
    if catch_kinds is None:
        catch_kinds = list(RATING_CATCH_KINDS if kind == ExperimentKind.RATING else CHOICE_CATCH_KINDS)
    config: dict[str, Any] = {"catch": {"kinds": list(catch_kinds)}}
    if kind == ExperimentKind.PREFERENCE:
        # The whole library: the service's default pools (clips with a ground-truth excerpt, and those excerpts).
        config["clip_ids"] = set_clips or (selectors.clip_ids(labels=scenes) if scenes else None)
        config["excerpt_ids"] = set_excerpts or (selectors.excerpt_ids(genres=genres) if genres else None)
        config["directions"] = stimuli.get("directions") or list(DIRECTIONS)
        config["conditions"] = stimuli.get("conditions") or ["GR"]
        if stimuli.get("queries_per_direction") is not None:
            config["queries_per_direction"] = stimuli["queries_per_direction"]
    else:
        config["clip_ids"] = set_clips or selectors.clip_ids(labels=scenes)
        config["excerpt_ids"] = set_excerpts or selectors.excerpt_ids(genres=genres)
        if kind == ExperimentKind.RATING and stimuli.get("sample_pairs") is not None:
            config["sample_pairs"] = stimuli["sample_pairs"]
        if kind == ExperimentKind.AFC:
            config["directions"] = stimuli.get("directions") or ["V2M"]
            config["items_per_query"] = stimuli.get("items_per_query") or 1
    if design.get("headphones", "none") != "none":
        config["screening"] = {"headphones": design["headphones"]}
    if design.get("questionnaire_blocks"):
        config["questionnaire"] = {"when": design["questionnaire_when"], "blocks": list(design["questionnaire_blocks"])}
    return {
        "slug": kind_step["slug"],
        "title": kind_step["title"],
        "kind": kind,
        "config": config,
        "seed": design.get("seed"),
        "judgments_per_item": design.get("judgments_per_item", 9),
        "trials_per_assignment": design.get("trials_per_assignment", 50),
        "catch_trials_per_assignment": design.get("catch_trials_per_assignment", 1),
        "instructions": design.get("instructions", ""),
        "consent_text": design.get("consent_text", ""),
    }


def cost_lines(*, channel: str, reward: Decimal, assignments: int) -> list[str]:
    """The cost of ``assignments`` paid assignments on a channel, by that channel's own fee rules."""
    if channel == "mturk":
        return fees.estimate(
            reward=reward,
            n_assignments=assignments,
            assignments_per_hit=fees.MAX_ASSIGNMENTS_IN_LOW_FEE_TIER,
            masters=False,
        ).lines()
    if channel == "prolific":
        total = Decimal(study_cost_cents(reward_cents=int(reward * 100), places=assignments)) / 100
        return [
            f"rewards   {assignments} x ${reward} = ${reward * assignments}",
            f"total with the Prolific service fee ${total:.2f}",
        ]
    return [f"rewards   {assignments} x ${reward} = ${reward * assignments} (no platform fee)"]
