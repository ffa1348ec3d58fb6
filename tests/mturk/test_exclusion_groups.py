"""Exclusion groups pushed to MTurk: a study's HIT type requires that workers do NOT hold the exclusion
qualification of any other MTurk study in its groups, so a worker of one never sees the others' HITs."""

import pytest

from experiments.services.exclusion import add_to_group
from mturk.models import ExclusionQualification
from mturk.qualifications import QualificationSettings, build_requirements
from mturk.services.audit import open_mturk
from mturk.services.publishing import publish_batch
from mturk.services.qualifications import group_exclusion_type_ids
from tests.factories.experiments import make_experiment, make_library
from tests.factories.mturk import MTurkStudyFactory, make_batch

from . import stubs

pytestmark = pytest.mark.django_db
QUAL_A, QUAL_A_LIVE = "3QUALSTUDYAXXXXXXXXXXXXXXXXXXX", "3QUALSTUDYALIVEXXXXXXXXXXXXXXX"


def grouped_studies():
    library = make_library(n_clips=2, n_excerpts=2)
    first, second, alone = (make_experiment(library=library, slug=s) for s in ("wave-1", "wave-2", "other"))
    add_to_group(name="music-fit", experiments=[first, second])
    studies = [MTurkStudyFactory(experiment=e) for e in (first, second, alone)]
    ExclusionQualification.objects.create(study=studies[0], mode="sandbox", name="a", qualification_type_id=QUAL_A)
    ExclusionQualification.objects.create(study=studies[0], mode="live", name="a", qualification_type_id=QUAL_A_LIVE)
    ExclusionQualification.objects.create(study=studies[2], mode="sandbox", name="c", qualification_type_id="3OTHER")
    return studies


def test_the_other_studies_of_the_group_are_found_per_marketplace():
    first, second, alone = grouped_studies()
    assert group_exclusion_type_ids(study=second, mode="sandbox") == (QUAL_A,)
    assert group_exclusion_type_ids(study=second, mode="live") == (QUAL_A_LIVE,)
    assert group_exclusion_type_ids(study=first, mode="sandbox") == ()  # its own is not repeated
    assert group_exclusion_type_ids(study=alone, mode="sandbox") == ()
    assert group_exclusion_type_ids(study=MTurkStudyFactory(), mode="sandbox") == ()  # no experiment


def test_publishing_the_second_study_hides_its_hits_from_the_first_studys_workers(mturk_stub):
    _, second, _ = grouped_studies()
    batch = make_batch(
        second, exclude_returning_workers=False, min_approval_rate=None, min_approved_hits=None, locales=[]
    )
    stub = mturk_stub.sandbox
    stub.add_response(
        "create_hit_type",
        {"HITTypeId": "3HITTYPEXXXXXXXXXXXXXXXXXXXXXX"},
        expected_params={
            "Title": stubs.ANY,
            "Description": stubs.ANY,
            "Keywords": stubs.ANY,
            "Reward": "1.50",
            "AssignmentDurationInSeconds": 3600,
            "AutoApprovalDelayInSeconds": 259200,
            "QualificationRequirements": [
                {
                    "QualificationTypeId": QUAL_A,
                    "Comparator": "DoesNotExist",
                    "ActionsGuarded": "DiscoverPreviewAndAccept",
                }
            ],
        },
    )
    stub.add_response("create_hit_with_hit_type", {"HIT": stubs.hit(hit_id="3GROUPHITXXXXXXXXXXXXXXXXXXXXX")})
    report = publish_batch(batch=batch, mturk=open_mturk(mode="sandbox"))
    assert len(report.created) == 1


def test_too_many_requirements_are_refused_with_a_reason():
    settings = QualificationSettings(
        min_approval_rate=95, group_exclusion_type_ids=tuple(f"3Q{n:028d}" for n in range(10))
    )
    with pytest.raises(ValueError, match="at most 10"):
        build_requirements(settings, mode="sandbox")
