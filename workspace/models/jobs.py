from django.conf import settings
from django.db import models


class JobKind(models.TextChoices):
    SUMMARY = "summary", "Work out what the design implies"
    DESIGN = "design", "Generate the design"
    REPORT = "report", "Build the report"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """Long work started from a workspace page and run by a Celery worker; the page polls its progress.

    A *summary* job (the wizard's review counts, before any experiment exists) has no experiment: its
    ``params`` are the design parameters and its ``data`` the counts.

    ``result`` is a path under the data directory (the built report), written atomically before the job is
    marked done, so a ``done`` job always has its file.
    """

    kind = models.CharField(max_length=16, choices=JobKind.choices)
    experiment = models.ForeignKey(
        "experiments.Experiment", null=True, blank=True, on_delete=models.CASCADE, related_name="workspace_jobs"
    )
    params = models.JSONField(default=dict, blank=True, help_text="A summary job's design parameters.")
    data = models.JSONField(default=dict, blank=True, help_text="A summary job's counts.")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    step = models.CharField(max_length=200, blank=True, help_text="What the worker is doing now.")
    error = models.TextField(blank=True)
    result = models.CharField(max_length=500, blank=True, help_text="Result file, relative to the data directory.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="workspace_job_progress_percent"),
            models.CheckConstraint(
                condition=models.Q(kind="summary") | models.Q(experiment__isnull=False),
                name="workspace_job_experiment_unless_summary",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="failed") | ~models.Q(error=""), name="workspace_job_failure_has_error"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="done") | models.Q(progress=100), name="workspace_job_done_is_complete"
            ),
        ]
        indexes = [models.Index(fields=["experiment", "kind", "-created_at"], name="workspace_job_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.pk} ({self.state}) for experiment {self.experiment_id}"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)
