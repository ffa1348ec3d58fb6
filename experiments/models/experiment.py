from django.conf import settings
from django.db import models


class ExperimentKind(models.TextChoices):
    RATING = "rating", "7-point fit rating"
    AFC = "afc", "Two-alternative forced choice"
    PREFERENCE = "preference", "Preference test (G/R/S)"


# Kinds whose answer is a side (left/right) rather than a rating.
CHOICE_KINDS = frozenset({ExperimentKind.AFC.value, ExperimentKind.PREFERENCE.value})


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft (design not generated)"
    DESIGNED = "designed", "Designed (previewable, not open to workers)"
    OPEN = "open", "Open to workers"
    CLOSED = "closed", "Closed"


class Experiment(models.Model):
    """One study: its design parameters, the seed that makes the design reproducible, and its state.

    ``config`` keeps the validated design parameters exactly as they were used, so
    ``generate_design`` run again with the same seed, config and library rebuilds the same items,
    bundles, trial orders and left/right sides.
    """

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ExperimentKind.choices)
    status = models.CharField(
        max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT, db_index=True
    )
    seed = models.BigIntegerField(help_text="Seeds every random choice of the design.")
    config = models.JSONField(default=dict, blank=True, help_text="Validated design parameters.")
    judgments_per_item = models.PositiveSmallIntegerField(
        default=9, help_text="k: how many workers judge each pairing (rating) or each choice item."
    )
    trials_per_assignment = models.PositiveSmallIntegerField(
        default=50, help_text="n: real trials in one assignment bundle (catch trials come on top)."
    )
    catch_trials_per_assignment = models.PositiveSmallIntegerField(default=1)
    max_bundles_per_worker = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="At most this many bundles per worker in this study (empty: no cap); an abandoned one counts.",
    )
    abandon_after_s = models.PositiveIntegerField(
        default=1800, help_text="An active assignment idle this long is released and re-offered."
    )
    instructions = models.TextField(blank=True)
    consent_text = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    designed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(judgments_per_item__gte=1), name="experiment_k_positive"),
            models.CheckConstraint(condition=models.Q(trials_per_assignment__gte=1), name="experiment_n_positive"),
            models.CheckConstraint(condition=models.Q(abandon_after_s__gte=60), name="experiment_timeout_sane"),
            models.CheckConstraint(
                condition=models.Q(max_bundles_per_worker__isnull=True) | models.Q(max_bundles_per_worker__gte=1),
                name="experiment_worker_cap_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.get_kind_display()})"

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS
