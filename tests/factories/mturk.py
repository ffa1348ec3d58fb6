"""Factories for the MTurk app. Batches are made through the service so their HIT rows exist too."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from mturk.models import Hit, HitState, MTurkAssignment, MTurkStudy
from mturk.modes import Mode
from mturk.services.publishing import create_batch


class MTurkStudyFactory(DjangoModelFactory):
    class Meta:
        model = MTurkStudy

    name = factory.Sequence(lambda n: f"Music-video fit study {n}")
    spending_cap = Decimal("500.00")


def make_batch(study=None, *, mode=Mode.SANDBOX, n_assignments=9, **options):
    defaults = {
        "task_url": "https://mvfit.example.org/mturk/experiment/1/",
        "title": "Rate how well music fits video",
        "description": "Watch short clips and rate the fit.",
        "keywords": "music, video, rating",
        "reward": Decimal("1.50"),
        "min_approval_rate": 95,
        "min_approved_hits": 500,
        "locales": ["US"],
    }
    defaults.update(options)
    return create_batch(study=study or MTurkStudyFactory(), mode=mode, n_assignments=n_assignments, **defaults)


def publish_rows(batch, *, hit_type_id="3HITTYPEXXXXXXXXXXXXXXXXXXXXXX"):
    """Mark every HIT row of ``batch`` as created on MTurk (for tests that start after publishing)."""
    for hit in batch.hits.all():
        hit.hit_id = f"3HIT{hit.pk:026d}"
        hit.hit_type_id = hit_type_id
        hit.state = HitState.CREATED
        hit.status = "Assignable"
        hit.save()
    batch.state = batch.State.PUBLISHED
    batch.hit_type_id = hit_type_id
    if batch.mode == Mode.LIVE:
        from django.utils import timezone

        batch.live_confirmed_at = timezone.now()
    batch.save()
    return batch


class MTurkAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = MTurkAssignment

    hit = factory.LazyFunction(lambda: publish_rows(make_batch()).hits.first())
    assignment_id = factory.Sequence(lambda n: f"3ASG{n:026d}")
    worker_id = factory.Sequence(lambda n: f"A{n:013d}")
    status = "Submitted"


__all__ = ["Hit", "MTurkAssignmentFactory", "MTurkStudyFactory", "make_batch", "publish_rows"]
