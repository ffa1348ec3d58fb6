"""Problems workers report from the worker page ("report a problem"), for the experimenter's review queue."""

from django.db import models

MAX_REPORTS_PER_PARTICIPANT = 10
MAX_REPORT_CHARS = 2000


class ProblemCategory(models.TextChoices):
    MEDIA = "media", "A video or sound does not play"
    UNCLEAR = "unclear", "The task is unclear"
    TECHNICAL = "technical", "Something else does not work"
    OTHER = "other", "Something else"


class ProblemReport(models.Model):
    """One report by a worker: what went wrong, in their words, with where they were (the trial they were on,
    read from the server's state, never from the browser). ``number`` counts a participant's reports and is
    capped by a constraint, so a script cannot flood the review queue."""

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="problem_reports")
    participant = models.ForeignKey("experiments.Participant", on_delete=models.CASCADE, related_name="problem_reports")
    assignment = models.ForeignKey(
        "experiments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="problem_reports"
    )
    position = models.PositiveIntegerField(null=True, blank=True, help_text="The trial being shown (0-based).")
    number = models.PositiveSmallIntegerField(help_text="1 for the participant's first report.")
    category = models.CharField(max_length=16, choices=ProblemCategory.choices)
    text = models.CharField(max_length=MAX_REPORT_CHARS, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    staff_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="one_problem_report_per_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=MAX_REPORTS_PER_PARTICIPANT),
                name="problem_reports_per_participant_capped",
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=ProblemCategory.values), name="problem_report_category_known"
            ),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True, resolved_by="")
                | models.Q(resolved_at__isnull=False) & ~models.Q(resolved_by=""),
                name="problem_report_resolved_by_someone",
            ),
        ]
        indexes = [models.Index(fields=["experiment", "resolved_at"], name="problem_reports_open")]

    def __str__(self) -> str:
        return f"problem report {self.pk} ({self.category}) in experiment {self.experiment_id}"
