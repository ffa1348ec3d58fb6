"""Panel links: one reusable link, one participant per panel id, bound to the browser that first used it,
and the worker sent back to the panel with the right code at the end."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from experiments.models import Participant
from experiments.services.lifecycle import close_experiment, open_experiment
from recruitment.models import PanelEntry
from recruitment.services import create_panel_link, exit_url
from tests.experiments.test_screening import answer_open_trial
from tests.factories.experiments import answer_trial, make_experiment, make_library
from tests.support.sound_check import answer_form

pytestmark = pytest.mark.django_db


def study(**config):
    library = make_library(n_clips=4, n_excerpts=3)
    experiment = make_experiment(
        library=library,
        config={"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids, **config},
        trials_per_assignment=2,
    )
    return open_experiment(experiment=experiment, allow_unrendered=True)


def panel(experiment, **kwargs):
    kwargs.setdefault("completion_url", "https://panel.example/done?study=7")
    return create_panel_link(experiment=experiment, slug="fit-panel", **kwargs)


def enter(client, link, pid):
    return client.get(reverse("recruitment:panel_entry", args=[link.slug]), {link.id_parameter: pid})


def test_a_panel_id_enters_once_and_resumes_only_in_the_same_browser(client):
    link = panel(study())
    first = enter(client, link, "P-0001")
    participant = Participant.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("experiments:worker", args=[participant.token])
    assert participant.source == "panel" and participant.panel_entry.panel_participant_id == "P-0001"
    assert enter(client, link, "P-0001")["Location"] == first["Location"]  # same browser: resumed
    stranger = enter(Client(), link, "P-0001")
    assert stranger.status_code == 409 and participant.token not in stranger.content.decode()
    assert b"another browser" in stranger.content
    enter(Client(), link, "P-0002")
    assert Participant.objects.count() == 2 and PanelEntry.objects.count() == 2


@pytest.mark.parametrize("pid", ["", " ", "x" * 129, "a b", "<script>", "p\x00"])
def test_a_missing_or_malformed_panel_id_is_refused_and_stores_nothing(client, pid):
    link = panel(study())
    response = enter(client, link, pid)
    assert response.status_code == 400 and b"panel participant id" in response.content
    assert not Participant.objects.exists()


def test_closed_studies_and_inactive_links_refuse_new_entries(client):
    experiment = study()
    link = panel(experiment)
    close_experiment(experiment=experiment)
    assert enter(client, link, "P-1").status_code == 403
    link.active = False
    link.save()
    assert enter(client, link, "P-2").status_code == 410
    assert not Participant.objects.exists()


def test_finishers_and_screened_out_workers_return_to_the_panel_with_their_code(client):
    experiment = study(screening={"headphones": "huggins", "trials": 1, "pass_at": 1})
    link = panel(experiment, screened_out_url="https://panel.example/out/{pid}?c={code}")
    for pid, passes in (("P-1", True), ("P-2", False)):
        enter(client, link, pid)
        participant = Participant.objects.latest("pk")
        client.post(reverse("experiments:consent", args=[participant.token]), {"agree": "yes"})
        client.get(reverse("experiments:worker", args=[participant.token]))
        client.post(reverse("experiments:audio_check", args=[participant.token]), answer_form(participant))
        answer_open_trial(client, participant, correct=passes)
        if passes:
            client.post(reverse("experiments:begin", args=[participant.token]))
            assignment = participant.assignments.get()
            for trial in assignment.bundle.trials.order_by("position"):
                answer_trial(assignment, trial.position, rating=trial.catch.expected_rating if trial.catch_id else 4)
        page = client.get(reverse("experiments:worker", args=[participant.token])).content.decode()
        if passes:
            assert f'href="https://panel.example/done?study=7&amp;code={link.completion_code}"' in page
        else:
            assert f'href="https://panel.example/out/P-2?c={link.screened_out_code}"' in page


def test_exit_urls_quote_what_they_fill_in():
    class Entry:
        panel_participant_id = "a&b=c"
        panel = type(
            "L",
            (),
            {
                "completion_url": "https://x.example/{pid}/{code}",
                "screened_out_url": "",
                "completion_code": "AB12",
                "screened_out_code": "CD34",
            },
        )

    assert exit_url(entry=Entry, screened_out=False) == "https://x.example/a%26b%3Dc/AB12"
    assert exit_url(entry=Entry, screened_out=True) == "https://x.example/a%26b%3Dc/CD34"


def test_the_command_creates_a_link_and_refuses_unsafe_urls():
    experiment = study()
    out = StringIO()
    call_command(
        "panel_link", str(experiment.pk), "--slug", "lab-pool", "--completion-url", "https://lab.example/ok", stdout=out
    )
    assert "/r/lab-pool/?pid=<the panel's participant id>" in out.getvalue()
    with pytest.raises(CommandError, match="completion_url"):
        call_command("panel_link", str(experiment.pk), "--slug", "evil", "--completion-url", "javascript:alert(1)")
