from decimal import Decimal

from django.db import models
from django.db.models import Q

from mturk import fees
from mturk.modes import Mode
from mturk.qualifications import QualificationSettings

ONE_YEAR_S = 365 * 24 * 3600
THIRTY_DAYS_S = 30 * 24 * 3600


class HitBatch(models.Model):
    """One publish run: a HIT type and the HITs created with it, in one marketplace.

    ``mode`` has no default on purpose: every batch states whether it is sandbox or live.
    """

    class State(models.TextChoices):
        DRAFT = "draft"
        PUBLISHING = "publishing", "publishing (some HITs not created yet)"
        PUBLISHED = "published"
        CLOSED = "closed"

    study = models.ForeignKey("mturk.MTurkStudy", on_delete=models.PROTECT, related_name="batches")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    task_url = models.URLField(max_length=500, help_text="The worker page MTurk shows in its frame.")
    frame_height = models.PositiveSmallIntegerField(default=800, help_text="Pixels; 0 = the whole window.")

    title = models.CharField(max_length=128)
    description = models.CharField(max_length=2000)
    keywords = models.CharField(max_length=1000, blank=True)
    reward = models.DecimalField(max_digits=8, decimal_places=2, help_text="Per assignment, USD.")
    assignment_duration_s = models.PositiveIntegerField(default=3600)
    auto_approval_delay_s = models.PositiveIntegerField(default=3 * 24 * 3600)
    lifetime_s = models.PositiveIntegerField(default=7 * 24 * 3600)

    n_assignments = models.PositiveIntegerField(help_text="Worker assignments wanted in total.")
    max_assignments_per_hit = models.PositiveSmallIntegerField(default=fees.MAX_ASSIGNMENTS_IN_LOW_FEE_TIER)
    allow_ten_plus_assignments = models.BooleanField(
        default=False, help_text="Opt out of MTurk's 20 % fee tier: HITs may have 10+ assignments (40 % fee)."
    )
    estimated_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Expected minutes per assignment: the pay check's basis before anyone finishes.",
    )
    planned_bonus_per_assignment = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))

    min_approval_rate = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Percent, e.g. 95.")
    min_approved_hits = models.PositiveIntegerField(null=True, blank=True)
    locales = models.JSONField(default=list, blank=True, help_text='ISO 3166 codes, e.g. ["US", "CA"].')
    require_masters = models.BooleanField(default=False)
    exclude_returning_workers = models.BooleanField(default=True)

    hit_type_id = models.CharField(max_length=64, blank=True)
    live_confirmed_by = models.CharField(max_length=150, blank=True)
    live_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "HIT batch"
        verbose_name_plural = "HIT batches"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="mturk_batch_mode_valid"),
            models.CheckConstraint(
                condition=Q(max_assignments_per_hit__lte=fees.MAX_ASSIGNMENTS_IN_LOW_FEE_TIER)
                | Q(allow_ten_plus_assignments=True),
                name="mturk_batch_20_percent_tier_unless_opted_out",
                violation_error_message=(
                    "At most 9 assignments per HIT keeps MTurk's fee at 20 %%; tick 'allow 10+ assignments' to "
                    "accept the 40 %% fee."
                ),
            ),
            models.CheckConstraint(condition=Q(max_assignments_per_hit__gte=1), name="mturk_batch_per_hit_positive"),
            models.CheckConstraint(condition=Q(n_assignments__gte=1), name="mturk_batch_assignments_positive"),
            models.CheckConstraint(
                condition=Q(reward__gte=Decimal("0.01")),
                name="mturk_batch_reward_min",
                violation_error_message="The reward must be at least $0.01.",
            ),
            models.CheckConstraint(
                condition=Q(planned_bonus_per_assignment__gte=0), name="mturk_batch_bonus_not_negative"
            ),
            models.CheckConstraint(condition=Q(min_approval_rate__lte=100), name="mturk_batch_approval_rate_pct"),
            models.CheckConstraint(condition=Q(frame_height__lte=4000), name="mturk_batch_frame_height"),
            models.CheckConstraint(
                condition=Q(assignment_duration_s__gte=30, assignment_duration_s__lte=ONE_YEAR_S),
                name="mturk_batch_assignment_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(lifetime_s__gte=30, lifetime_s__lte=ONE_YEAR_S), name="mturk_batch_lifetime_range"
            ),
            models.CheckConstraint(
                condition=Q(auto_approval_delay_s__lte=THIRTY_DAYS_S), name="mturk_batch_auto_approval_range"
            ),
            models.CheckConstraint(
                condition=Q(mode=Mode.SANDBOX) | Q(state="draft") | Q(live_confirmed_at__isnull=False),
                name="mturk_batch_live_needs_confirmation",
                violation_error_message="A live batch can only leave draft with an explicit live confirmation.",
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.mode}): {self.title}"

    def cost_estimate(self) -> fees.CostEstimate:
        return fees.estimate(
            reward=self.reward,
            n_assignments=self.n_assignments,
            assignments_per_hit=self.max_assignments_per_hit,
            masters=self.require_masters,
            planned_bonus_per_assignment=self.planned_bonus_per_assignment,
        )

    def qualification_settings(
        self, *, exclusion_qualification_type_id: str | None, group_exclusion_type_ids: tuple[str, ...] = ()
    ) -> QualificationSettings:
        return QualificationSettings(
            group_exclusion_type_ids=group_exclusion_type_ids,
            min_approval_rate=self.min_approval_rate,
            min_approved_hits=self.min_approved_hits,
            locales=tuple(self.locales or ()),
            masters=self.require_masters,
            exclusion_qualification_type_id=exclusion_qualification_type_id,
        )


class HitState(models.TextChoices):
    PENDING = "pending", "not created yet"
    CREATED = "created"
    FAILED = "failed", "refused by MTurk"


class Hit(models.Model):
    """One of our HITs. Its UniqueRequestToken is derived from this row, so a re-run never duplicates it."""

    batch = models.ForeignKey(HitBatch, on_delete=models.PROTECT, related_name="hits")
    index = models.PositiveSmallIntegerField(help_text="Position within the batch.")
    max_assignments = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=8, choices=HitState.choices, default=HitState.PENDING, db_index=True)
    hit_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    hit_type_id = models.CharField(max_length=64, blank=True)
    create_attempts = models.PositiveSmallIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    # Mirror of MTurk's view, refreshed by the sync.
    status = models.CharField(max_length=16, blank=True, help_text="MTurk HITStatus.")
    available = models.PositiveSmallIntegerField(default=0)
    pending = models.PositiveSmallIntegerField(default=0)
    completed = models.PositiveSmallIntegerField(default=0)
    expiration = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "HIT"
        ordering = ["batch", "index"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="mturk_hit_unique_index"),
            models.CheckConstraint(condition=Q(max_assignments__gte=1), name="mturk_hit_assignments_positive"),
            models.CheckConstraint(
                condition=~Q(state=HitState.CREATED) | Q(hit_id__isnull=False), name="mturk_created_hit_has_id"
            ),
        ]

    def __str__(self) -> str:
        return self.hit_id or f"HIT row {self.pk} ({self.state})"

    @property
    def request_token(self) -> str:
        """UniqueRequestToken for CreateHIT (also stored as RequesterAnnotation to find the HIT again)."""
        return f"mvfit-{self.batch.study.nonce}-hit-{self.pk}"


class HitExtension(models.Model):
    """A request for more assignments on a HIT (CreateAdditionalAssignmentsForHIT), idempotent by row."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    hit = models.ForeignKey(Hit, on_delete=models.PROTECT, related_name="extensions")
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(number__gte=1), name="mturk_extension_positive")]

    def __str__(self) -> str:
        return f"+{self.number} assignments on {self.hit}"

    @property
    def request_token(self) -> str:
        return f"mvfit-{self.hit.batch.study.nonce}-add-{self.pk}"
