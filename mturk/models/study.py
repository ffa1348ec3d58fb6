import secrets
from decimal import Decimal

from django.db import models

from mturk.modes import Mode


def _nonce() -> str:
    return secrets.token_hex(6)


class MTurkStudy(models.Model):
    """An experiment's presence on MTurk: its spending cap and its returning-worker exclusion.

    Each marketplace (sandbox, live) has its own budget of ``spending_cap``, so a sandbox rehearsal
    exercises the cap without eating the live money.

    ``nonce`` namespaces every UniqueRequestToken and qualification name we send, so two installations
    (or a database restored from a backup) sharing one requester account never collide on row ids.
    """

    experiment = models.OneToOneField(
        "experiments.Experiment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mturk_study",
        help_text="The experiment whose worker page the HITs show (empty: batches carry their own task URL).",
    )
    name = models.CharField(max_length=200, unique=True)
    spending_cap = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text="Most this study may spend per marketplace (rewards, bonuses and MTurk fees), in USD.",
    )
    nonce = models.CharField(max_length=12, unique=True, default=_nonce, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MTurk study"
        verbose_name_plural = "MTurk studies"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(spending_cap__gte=Decimal("0")), name="mturk_study_cap_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ExclusionQualification(models.Model):
    """Our custom qualification type marking workers who already took part in a study (one per marketplace)."""

    study = models.ForeignKey(MTurkStudy, on_delete=models.PROTECT, related_name="exclusions")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    name = models.CharField(max_length=200)
    qualification_type_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "mode"], name="mturk_one_exclusion_per_study_mode")]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"


class QualificationGrant(models.Model):
    """A worker started the study: they get the exclusion qualification (asynchronously, and not instantly).

    The row itself is what the worker entry page checks, because MTurk may still show the HIT to the
    worker for a while after the grant.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        GRANTED = "granted"
        FAILED = "failed"

    exclusion = models.ForeignKey(ExclusionQualification, on_delete=models.PROTECT, related_name="grants")
    worker_id = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    granted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exclusion", "worker_id"], name="mturk_one_grant_per_worker")]

    def __str__(self) -> str:
        return f"{self.worker_id} -> {self.exclusion}"
