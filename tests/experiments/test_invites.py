"""Invite links: single-use, and their tokens are sealed (no readable database id or nonce)."""

import pytest
from django.core import signing
from django.urls import reverse

from experiments.models import Participant
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import LEGACY_INVITE_SALT, EntryError, create_invite_links, redeem_invite
from tests.factories.experiments import make_experiment
from tests.support.tokens import readable
from webapp import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return open_experiment(experiment=make_experiment(trials_per_assignment=3), allow_unrendered=True)


def test_an_invite_token_shows_no_id_or_nonce(study):
    # Finding 11: the token was Django-signed base64 JSON {"x": experiment id, "n": nonce}, readable by anyone.
    links = create_invite_links(experiment=study, count=3)
    for link, token in links:
        decoded = readable(token)
        assert link.nonce not in decoded and '"x"' not in decoded
        assert redeem_invite(token=token).invite_link == link
    assert len({token for _, token in links}) == 3


def test_an_invite_link_opens_its_participant_and_nothing_else(client, study):
    ((link, token),) = create_invite_links(experiment=study, count=1)
    first = client.get(reverse("experiments:invite", args=[token]))
    again = client.get(reverse("experiments:invite", args=[token]))
    assert first["Location"] == again["Location"] and Participant.objects.get().invite_link == link
    forged = tokens.seal({"n": "made-up-nonce"}, purpose="invite")
    other_purpose = tokens.seal({"n": link.nonce}, purpose="audio-check")
    for bad, message in [(forged, "withdrawn"), (other_purpose, "not valid"), (token[:-4] + "AAAA", "not valid")]:
        response = client.get(reverse("experiments:invite", args=[bad]))
        assert response.status_code == 403 and message in response.content.decode()
    assert Participant.objects.count() == 1


def test_links_sent_before_tokens_were_sealed_stay_valid(study):
    ((link, _),) = create_invite_links(experiment=study, count=1)
    legacy = signing.dumps({"x": study.pk, "n": link.nonce}, salt=LEGACY_INVITE_SALT, compress=True)
    assert redeem_invite(token=legacy).invite_link == link
    with pytest.raises(EntryError, match="not valid"):
        redeem_invite(token=signing.dumps({"x": study.pk, "n": link.nonce}, salt="another salt"))
