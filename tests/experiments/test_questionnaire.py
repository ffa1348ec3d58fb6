"""The questionnaire: definitions validated without code, answers validated server-side, the step before
or after the trials, optional items skippable, nothing stored from a bad submission."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from experiments import questionnaire as q
from experiments.design.config import DesignError, validate_config
from experiments.models import QuestionnaireResponse
from experiments.services.lifecycle import open_experiment
from tests.experiments.test_screening import past_the_sound_check
from tests.factories.experiments import answer_trial, make_experiment, make_library

pytestmark = pytest.mark.django_db

CUSTOM = [
    {"key": "fav_genre", "type": "choice", "label": "Favourite genre", "options": ["Rock", "Jazz", "Other"]},
    {"key": "enjoyed", "type": "likert", "label": "I enjoyed this study", "points": 5},
    {"key": "hours_music", "type": "number", "label": "Hours of music a day", "min": 0, "max": 24, "required": False},
    {"key": "nickname_for_music", "type": "text", "label": "One word for the music", "max_length": 30},
]


def definition(**extra):
    return q.parse(
        q.validate_definition({"blocks": ["device", "musical_training", "comments"], "items": CUSTOM, **extra})
    )


def good_form():
    form = {"listening_device": "Headphones", "fav_genre": "Jazz", "enjoyed": "4", "nickname_for_music": "warm"}
    form |= {f"gmsi_mt_{i}": item.options[1] for i, item in enumerate(q.BLOCKS["musical_training"], start=1)}
    return form


def test_ready_made_blocks_and_custom_items_make_one_questionnaire():
    parsed = definition()
    keys = [item.key for item in parsed.items]
    assert keys[:1] == ["listening_device"] and "gmsi_mt_7" in keys and keys[-1] == "nickname_for_music"
    answers, problems = q.validate_answers(parsed, good_form())
    assert problems == []
    assert answers["enjoyed"] == 4 and "hours_music" not in answers and "comments" not in answers  # optional, skipped


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"fav_genre": "Metal"}, "fav_genre", "pick one of the options"),
        ({"enjoyed": "6"}, "enjoyed", "from 1 to 5"),
        ({"enjoyed": "4.5"}, "enjoyed", "whole number"),
        ({"hours_music": "25"}, "hours_music", "from 0 to 24"),
        ({"nickname_for_music": "x" * 31}, "nickname_for_music", "30 characters"),
        ({"listening_device": ""}, "listening_device", "answer this question"),
        ({"comments": "a\x00b"}, "comments", "not allowed"),
    ],
)
def test_bad_answers_name_the_item_and_say_what_to_fix(change, key, message):
    _, problems = q.validate_answers(definition(), good_form() | change)
    assert [p.key for p in problems] == [key] and message in problems[0].message


@given(st.dictionaries(st.sampled_from([i["key"] for i in CUSTOM] + ["gmsi_mt_1", "comments"]), st.text(max_size=50)))
def test_any_input_gives_accepted_answers_or_problems_never_an_exception(form):
    answers, problems = q.validate_answers(definition(), form)
    assert set(answers).isdisjoint({p.key for p in problems})


def test_the_gold_msi_training_score_follows_the_published_scoring():
    items = q.BLOCKS["musical_training"]
    lowest = {
        item.key: item.options[items[0].options.index("Completely agree")] if i < 2 else item.options[0]
        for i, item in enumerate(items)
    }
    highest = {item.key: item.options[0] if i < 2 else item.options[-1] for i, item in enumerate(items)}
    assert q.gold_msi_training_score(lowest) == 7  # items 1 and 2 are reverse-scored
    assert q.gold_msi_training_score(highest) == 49
    assert q.gold_msi_training_score({**highest, "gmsi_mt_4": None}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"blocks": ["iq_test"]}, "distinct names from"),
        ({"blocks": []}, "empty"),
        ({"when": "during", "blocks": ["device"]}, "'before' or 'after'"),
        ({"items": [{"key": "1x", "type": "text", "label": "x"}]}, "not starting with a digit"),
        ({"items": [{"key": "a", "type": "slider", "label": "x"}]}, "'type' must be one of"),
        ({"items": [{"key": "a", "type": "choice", "label": "x", "options": ["only"]}]}, "2-20 distinct"),
        ({"items": [{"key": "a", "type": "number", "label": "x", "min": 5, "max": 1}]}, "'min' <= 'max'"),
        ({"blocks": ["device"], "items": [{"key": "listening_device", "type": "text", "label": "x"}]}, "unique"),
        ({"blocks": ["device"], "colour": 1}, "unknown questionnaire field"),
    ],
)
def test_bad_definitions_are_clear_design_errors(value, message):
    with pytest.raises(DesignError, match=message):
        validate_config("rating", {"clip_ids": [1], "excerpt_ids": [1], "questionnaire": value})


def study(when):
    library = make_library(n_clips=4, n_excerpts=3)
    config = {
        "clip_ids": library.clip_ids,
        "excerpt_ids": library.excerpt_ids,
        "questionnaire": {"when": when, "blocks": ["device"], "items": CUSTOM[:2]},
    }
    experiment = make_experiment(library=library, config=config, trials_per_assignment=2, slug=f"q-{when}")
    return open_experiment(experiment=experiment, allow_unrendered=True)


def test_before_the_trials_a_bad_submission_is_shown_again_and_stores_nothing(client):
    participant = past_the_sound_check(client, study("before"))
    page = reverse("experiments:worker", args=[participant.token])
    assert client.get(page)["Location"] == reverse("experiments:questionnaire", args=[participant.token])
    client.post(reverse("experiments:begin", args=[participant.token]))
    assert participant.assignments.count() == 0  # no work before the questionnaire is answered
    url = reverse("experiments:questionnaire", args=[participant.token])
    bad = client.post(url, {"listening_device": "Headphones", "fav_genre": "Metal"})
    assert bad.status_code == 400 and b'data-testid="q-error-fav_genre"' in bad.content
    assert b'value="Headphones" checked' in bad.content  # what was entered is kept
    assert not QuestionnaireResponse.objects.exists()
    ok = client.post(url, {"listening_device": "Headphones", "fav_genre": "Jazz", "enjoyed": "5"})
    assert ok.status_code == 302
    client.post(url, {"listening_device": "Earbuds", "fav_genre": "Rock", "enjoyed": "1"})  # a second submit
    assert QuestionnaireResponse.objects.get().answers == {
        "listening_device": "Headphones",
        "fav_genre": "Jazz",
        "enjoyed": 5,
    }
    assert b"Start" in client.get(page).content


def test_after_the_trials_the_questionnaire_comes_before_the_completion_page(client):
    participant = past_the_sound_check(client, study("after"))
    page = reverse("experiments:worker", args=[participant.token])
    assert b"Start" in client.get(page).content
    client.post(reverse("experiments:begin", args=[participant.token]))
    assignment = participant.assignments.get()
    for trial in assignment.bundle.trials.order_by("position"):
        answer_trial(assignment, trial.position, rating=trial.catch.expected_rating if trial.catch_id else 4)
    assert client.get(page)["Location"] == reverse("experiments:questionnaire", args=[participant.token])
    url = reverse("experiments:questionnaire", args=[participant.token])
    client.post(url, {"listening_device": "Earbuds", "fav_genre": "Rock", "enjoyed": "2"})
    done = client.get(page)
    assert done.status_code == 200 and b"completion" in done.content.lower()
