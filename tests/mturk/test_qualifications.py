"""Qualification requirements, checked by the real MTurk service model through CreateHITType."""

from decimal import Decimal

import pytest

from mturk.modes import Mode
from mturk.qualifications import MASTERS, QualificationSettings, build_requirements, parse_locale
from mturk.services.audit import open_mturk

pytestmark = pytest.mark.django_db


def test_full_requirements_are_accepted_by_the_service_model(mturk_stub):
    settings = QualificationSettings(
        min_approval_rate=95,
        min_approved_hits=1000,
        locales=("US", "ca", "GB-ENG"),
        masters=True,
        exclusion_qualification_type_id="3EXCLUSIONXXXXXXXXXXXXXXXXXXX",
    )
    requirements = build_requirements(settings, mode=Mode.SANDBOX)
    assert requirements == [
        {
            "QualificationTypeId": "000000000000000000L0",
            "Comparator": "GreaterThanOrEqualTo",
            "IntegerValues": [95],
            "ActionsGuarded": "Accept",
        },
        {
            "QualificationTypeId": "00000000000000000040",
            "Comparator": "GreaterThanOrEqualTo",
            "IntegerValues": [1000],
            "ActionsGuarded": "Accept",
        },
        {
            "QualificationTypeId": "00000000000000000071",
            "Comparator": "In",
            "LocaleValues": [{"Country": "US"}, {"Country": "CA"}, {"Country": "GB", "Subdivision": "ENG"}],
            "ActionsGuarded": "Accept",
        },
        {"QualificationTypeId": "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6", "Comparator": "Exists", "ActionsGuarded": "Accept"},
        {
            "QualificationTypeId": "3EXCLUSIONXXXXXXXXXXXXXXXXXXX",
            "Comparator": "DoesNotExist",
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        },
    ]
    mturk_stub.sandbox.add_response("create_hit_type", {"HITTypeId": "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"})
    hit_type_id = open_mturk(mode="sandbox").create_hit_type(
        title="t",
        description="d",
        keywords="k",
        reward=Decimal("0.50"),
        assignment_duration_s=600,
        auto_approval_delay_s=3600,
        qualification_requirements=requirements,
    )
    assert hit_type_id == "3TYPEXXXXXXXXXXXXXXXXXXXXXXXXX"


def test_masters_ids_differ_between_sandbox_and_live():
    sandbox = build_requirements(QualificationSettings(masters=True), mode=Mode.SANDBOX)
    live = build_requirements(QualificationSettings(masters=True), mode=Mode.LIVE)
    assert sandbox[0]["QualificationTypeId"] == MASTERS[Mode.SANDBOX] == "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"
    assert live[0]["QualificationTypeId"] == MASTERS[Mode.LIVE] == "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"


def test_single_locale_uses_equal_to_and_nothing_set_means_no_requirements():
    assert build_requirements(QualificationSettings(locales=("US",)), mode=Mode.SANDBOX)[0]["Comparator"] == "EqualTo"
    assert build_requirements(QualificationSettings(), mode=Mode.LIVE) == []


@pytest.mark.parametrize("bad", ["USA", "U", "12", "US-", "us_ny"])
def test_bad_locales_are_refused_with_a_hint(bad):
    with pytest.raises(ValueError, match="ISO 3166"):
        parse_locale(bad)


def test_out_of_range_values_are_refused():
    with pytest.raises(ValueError, match="percentage"):
        build_requirements(QualificationSettings(min_approval_rate=101), mode=Mode.SANDBOX)
    with pytest.raises(ValueError, match="negative"):
        build_requirements(QualificationSettings(min_approved_hits=-1), mode=Mode.SANDBOX)
