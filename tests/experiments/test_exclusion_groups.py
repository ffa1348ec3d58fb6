"""Exclusion groups: whoever took part in one study of a group is refused at entry to every other, on every
channel, enforced by the database; entries into the same study are unaffected."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from experiments.models import GroupMembership, Participant
from experiments.services import participants
from experiments.services.exclusion import add_to_group
from recruitment.prolific import register_study
from recruitment.services import create_panel_link
from tests.experiments.test_screening import study

pytestmark = pytest.mark.django_db
PID, STUDY_A, STUDY_B = "ab" * 12, "0a" * 12, "0b" * 12


def two_studies():
    first, second = study("none", slug="wave-1"), study("none", slug="wave-2")
    add_to_group(name="music-fit", experiments=[first, second])
    return first, second


def test_mturk_workers_are_refused_at_the_second_study_of_a_group():
    first, second = two_studies()
    participants.enter_via_mturk(experiment=first, worker_id="A1WORKER", assignment_id="ASSIGN1")
    participants.enter_via_mturk(experiment=first, worker_id="A1WORKER", assignment_id="ASSIGN1")  # resumes
    with pytest.raises(participants.EntryError, match="already taken part in a related study"):
        participants.enter_via_mturk(experiment=second, worker_id="A1WORKER", assignment_id="ASSIGN2")
    assert Participant.objects.filter(experiment=second).count() == 0
    participants.enter_via_mturk(experiment=second, worker_id="A2OTHER", assignment_id="ASSIGN3")


def test_prolific_and_panel_entries_are_refused_at_the_second_study_too(client):
    first, second = two_studies()
    register_study(experiment=first, study_id=STUDY_A, completion_code="A1")
    register_study(experiment=second, study_id=STUDY_B, completion_code="B1")
    query = {"PROLIFIC_PID": PID, "SESSION_ID": "s1"}
    assert (
        client.get(reverse("recruitment:prolific_entry", args=[first.slug]), query | {"STUDY_ID": STUDY_A}).status_code
        == 302
    )
    refused = Client().get(reverse("recruitment:prolific_entry", args=[second.slug]), query | {"STUDY_ID": STUDY_B})
    assert refused.status_code == 403 and b"related study" in refused.content
    link_a = create_panel_link(experiment=first, slug="pool-a", completion_url="https://x.example/a")
    link_b = create_panel_link(experiment=second, slug="pool-b", completion_url="https://x.example/b")
    assert Client().get(reverse("recruitment:panel_entry", args=[link_a.slug]), {"pid": "7"}).status_code == 302
    # A panel id is per link, so a different link is a different identity: only the same identity is excluded.
    assert Client().get(reverse("recruitment:panel_entry", args=[link_b.slug]), {"pid": "7"}).status_code == 302


def test_existing_participants_are_recorded_when_a_study_joins_a_group():
    first = study("none", slug="wave-1")
    participants.enter_via_mturk(experiment=first, worker_id="A1WORKER", assignment_id="ASSIGN1")
    second = study("none", slug="wave-2")
    out = StringIO()
    call_command("exclusion_group", "music-fit", "wave-1", "wave-2", stdout=out)
    assert "music-fit: wave-1, wave-2" in out.getvalue()
    assert GroupMembership.objects.get().experiment == first
    with pytest.raises(participants.EntryError):
        participants.enter_via_mturk(experiment=second, worker_id="A1WORKER", assignment_id="ASSIGN2")


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_entries_into_two_studies_of_a_group_let_only_one_in():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions")
    first, second = two_studies()
    outcomes = []

    def enter(experiment, assignment):
        try:
            participants.enter_via_mturk(experiment=experiment, worker_id="A1RACE", assignment_id=assignment)
            outcomes.append("in")
        except participants.EntryError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=enter, args=(e, f"AS{i}")) for i, e in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["in", "refused"]
    assert Participant.objects.filter(worker_id="A1RACE").count() == 1
