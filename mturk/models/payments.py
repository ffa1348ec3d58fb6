import hashlib

from django.db import models
from django.db.models import Q

from mturk.modes import Mode


class PaymentState(models.TextChoices):
    PENDING = "pending", "not sent yet (or outcome unknown)"
    SENT = "sent"
    FAILED = "failed", "refused by MTurk"


class Spend(models.Model):
    """The spending ledger behind the per-study cap.

    Every call that can cost money first *reserves* its worst-case cost (rewards or bonus plus MTurk
    fees) under a row lock on the study; success *commits* the reservation, a definite refusal
    *releases* it, and an unknown outcome keeps it reserved so the cap stays conservative.
    """

    class Kind(models.TextChoices):
        HIT = "hit", "HIT (all assignments)"
        EXTRA_ASSIGNMENTS = "extra", "additional assignments"
        BONUS = "bonus"

    class State(models.TextChoices):
        RESERVED = "reserved"
        COMMITTED = "committed"
        RELEASED = "released"

    study = models.ForeignKey("mturk.MTurkStudy", on_delete=models.PROTECT, related_name="spends")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    state = models.CharField(max_length=9, choices=State.choices, default=State.RESERVED, db_index=True)
    hit = models.OneToOneField("mturk.Hit", on_delete=models.PROTECT, null=True, blank=True, related_name="spend")
    extension = models.OneToOneField(
        "mturk.HitExtension", on_delete=models.PROTECT, null=True, blank=True, related_name="spend"
    )
    bonus = models.OneToOneField("mturk.Bonus", on_delete=models.PROTECT, null=True, blank=True, related_name="spend")
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="mturk_spend_positive"),
            models.CheckConstraint(
                condition=(
                    Q(kind="hit", hit__isnull=False, extension__isnull=True, bonus__isnull=True)
                    | Q(kind="extra", hit__isnull=True, extension__isnull=False, bonus__isnull=True)
                    | Q(kind="bonus", hit__isnull=True, extension__isnull=True, bonus__isnull=False)
                ),
                name="mturk_spend_one_subject_matching_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ${self.amount} ({self.state}, {self.mode})"


class Bonus(models.Model):
    """A bonus for one submitted assignment; at most one per (worker, assignment), which is also its token."""

    assignment = models.ForeignKey("mturk.MTurkAssignment", on_delete=models.PROTECT, related_name="bonuses")
    worker_id = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    reason = models.TextField(help_text="Shown to the worker with the payment.")
    state = models.CharField(max_length=8, choices=PaymentState.choices, default=PaymentState.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "bonuses"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["worker_id", "assignment"], name="mturk_one_bonus_per_worker_assignment"),
            models.CheckConstraint(condition=Q(amount__gte=0.01), name="mturk_bonus_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="mturk_bonus_has_reason"),
        ]

    def __str__(self) -> str:
        return f"${self.amount} to {self.worker_id} ({self.state})"

    @property
    def request_token(self) -> str:
        """UniqueRequestToken derived from (worker, assignment): re-sending can never pay twice."""
        digest = hashlib.sha256(f"{self.worker_id}:{self.assignment.assignment_id}".encode()).hexdigest()
        return f"mvfit-bonus-{digest[:40]}"


class WorkerBlock(models.Model):
    """A worker we blocked (CreateWorkerBlock) in one marketplace."""

    class State(models.TextChoices):
        PENDING = "pending", "not blocked yet (or outcome unknown)"
        BLOCKED = "blocked"
        FAILED = "failed", "refused by MTurk"

    mode = models.CharField(max_length=8, choices=Mode.choices)
    worker_id = models.CharField(max_length=64)
    reason = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    blocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["mode", "worker_id"], name="mturk_one_block_per_worker"),
            models.CheckConstraint(condition=~Q(reason=""), name="mturk_block_has_reason"),
        ]

    def __str__(self) -> str:
        return f"block {self.worker_id} ({self.mode}, {self.state})"
