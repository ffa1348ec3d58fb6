"""Participant-level data in the export: participants, questionnaire answers, headphone trials — documented
columns, CSV and Parquet, pseudonymised, and a fixed number of queries whatever the number of participants."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

import exportformat
from experiments.models import Participant, Response
from experiments.selectors.participant_export import device_and_browser, participant_rows
from experiments.services.export import write_export
from experiments.services.lifecycle import open_experiment
from tests.experiments.test_screening import answer_open_trial, past_the_sound_check
from tests.factories.experiments import answer_trial, make_experiment, make_library

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
EDGE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0"


def study():
    library = make_library(n_clips=4, n_excerpts=3)
    config = {
        "clip_ids": library.clip_ids,
        "excerpt_ids": library.excerpt_ids,
        "screening": {"headphones": "huggins", "trials": 2, "pass_at": 2},
        "questionnaire": {"when": "after", "blocks": ["device", "musical_training"]},
    }
    experiment = make_experiment(library=library, config=config, trials_per_assignment=2, slug="people")
    return open_experiment(experiment=experiment, allow_unrendered=True)


def complete(client, participant):
    client.post(reverse("experiments:begin", args=[participant.token]))
    assignment = participant.assignments.get()
    for trial in assignment.bundle.trials.order_by("position"):
        answer_trial(assignment, trial.position, rating=trial.catch.expected_rating if trial.catch_id else 4)
    shown = timezone.now() - timedelta(minutes=1)
    Response.objects.filter(assignment=assignment).update(presented_at=shown, answered_at=shown + timedelta(seconds=4))
    Response.objects.filter(assignment=assignment, trial__position=0).update(
        events=[
            {"type": "play", "slot": "main", "t": 120, "at": 0},
            {"type": "error", "slot": "main", "code": 4, "t": 900, "at": 0.5},
            {"type": "stalled", "slot": "main"},
            {"type": "waiting", "slot": "main"},
            {"type": "hidden", "t": 2000},
            "junk",
        ]
    )
    form = {"listening_device": "Earbuds"} | {f"gmsi_mt_{i}": "0" if i > 2 else "Completely agree" for i in range(1, 8)}
    assert client.post(reverse("experiments:questionnaire", args=[participant.token]), form).status_code == 302


def test_participants_questionnaire_and_headphone_trials_are_exported(client, tmp_path):
    experiment = study()
    finisher = past_the_sound_check(client, experiment)
    for _ in range(2):
        answer_open_trial(client, finisher, correct=True)
    complete(client, finisher)
    dropout = past_the_sound_check(client, experiment)
    answer_open_trial(client, dropout, correct=False)
    answer_open_trial(client, dropout, correct=True)
    Participant.objects.filter(pk=finisher.pk).update(user_agent=IPHONE)

    out = write_export(experiments=[experiment], out_dir=tmp_path / "export")
    export = exportformat.read_export(out.directory)
    people = export.participants.set_index("participant_id")
    assert set(out.files) >= {"participants.csv", "participants.parquet", "questionnaire.csv", "headphone_trials.csv"}
    done, gone = people.loc[finisher.pk], people.loc[dropout.pk]
    assert (done.headphone_screen, gone.headphone_screen) == ("passed", "failed")
    assert gone.screened_out_reason == "headphones" and pd.isna(done.screened_out_reason)
    assert (done.headphone_trials, done.headphone_correct, gone.headphone_correct) == (2, 2, 1)
    assert (done.device_class, done.browser_family) == ("mobile", "Safari")
    n_trials = finisher.assignments.get().n_trials
    assert (done.assignments_completed, done.answers, gone.answers) == (1, n_trials, 0)
    assert (done.playback_errors, done.playback_stalls, done.focus_changes) == (1, 2, 1)
    assert done.active_time_s == pytest.approx(4.0 * n_trials) and pd.isna(gone.active_time_s)
    assert done.questionnaire_submitted and not gone.questionnaire_submitted
    assert done.gold_msi_training == 7  # all minimum answers (items 1-2 reverse-scored)
    assert done.total_time_s >= 0 and pd.isna(gone.total_time_s)
    assert done.worker_id.startswith("W") and "link:" not in (out.directory / "participants.csv").read_text()

    answers = export.questionnaire
    assert len(answers) == 8 and set(answers.block) == {"device", "musical_training"}
    assert answers.set_index("item").loc["listening_device", "value"] == "Earbuds"
    events = export.trial_events
    assert list(events.type) == ["play", "error", "stalled", "waiting", "hidden"] and list(events.seq) == list(range(5))
    error = events[events.type == "error"].iloc[0]
    assert (error.slot, error.t_ms, error.media_time_s, error.detail) == ("main", 900, 0.5, '{"code": 4}')
    assert pd.isna(events[events.type == "hidden"].iloc[0].slot)
    trials = export.headphone_trials
    assert list(trials.groupby("participant_id").correct.sum().sort_index()) == [2, 1]
    # The CSV and its Parquet twin hold the same table.
    pd.testing.assert_frame_equal(
        pd.read_parquet(out.directory / "participants.parquet").reset_index(drop=True),
        exportformat.read_export(out.directory, file_format="csv").participants.reset_index(drop=True),
        check_dtype=False,
    )


def test_participant_rows_cost_the_same_queries_for_more_participants(client, django_assert_max_num_queries):
    experiment = study()
    for _ in range(2):
        past_the_sound_check(client, experiment)
    with django_assert_max_num_queries(6):
        assert len(list(participant_rows([experiment], key="k"))) == 2
    for _ in range(4):
        past_the_sound_check(client, experiment)
    with django_assert_max_num_queries(6):
        assert len(list(participant_rows([experiment], key="k"))) == 6


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (IPHONE, ("mobile", "Safari")),
        (EDGE, ("desktop", "Edge")),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", ("desktop", "Firefox")),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 Version/16.0 Safari/604.1",
            ("tablet", "Safari"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
            ("mobile", "Chrome"),
        ),
        ("curl/8.0", ("desktop", "Other")),
        ("", ("unknown", "unknown")),
    ],
)
def test_user_agents_are_reduced_to_device_class_and_browser_family(agent, expected):
    assert device_and_browser(agent) == expected


def test_simulated_participants_are_marked_in_the_export_and_people_are_not(client, tmp_path):
    experiment = study()
    person = past_the_sound_check(client, experiment)
    crowd = past_the_sound_check(client, experiment)
    Participant.objects.filter(pk=crowd.pk).update(is_simulated=True)

    out = write_export(experiments=[experiment], out_dir=tmp_path / "export", parquet=False)
    people = exportformat.read_export(out.directory).participants.set_index("participant_id")

    assert people.loc[crowd.pk, "simulated"] and not people.loc[person.pk, "simulated"]


def test_the_report_has_a_participants_section_from_a_platform_export(client, tmp_path):
    from analysis.report import ReportOptions, build_report

    experiment = study()
    finisher = past_the_sound_check(client, experiment)
    for _ in range(2):
        answer_open_trial(client, finisher, correct=True)
    complete(client, finisher)
    out = write_export(experiments=[experiment], out_dir=tmp_path / "export")
    result = build_report(out.directory, tmp_path / "report", ReportOptions(progress=False, split_half_splits=5))
    assert "participants" not in result.skipped
    section = next(s for s in result.sections if s.key == "participants")
    assert (
        "figures/participants.png" in section.figures
        and (tmp_path / "report" / "figures" / "participants.png").exists()
    )
    assert result.summary["participant_outcomes"] == {"completed": 1}
