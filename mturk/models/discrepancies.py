from django.db import models


class Discrepancy(models.Model):
    """A mismatch between MTurk and our database that an experimenter should look at.

    Found by reconciliation; resolved automatically when a later reconciliation no longer sees it,
    or by hand (with a note) once dealt with.
    """

    class Kind(models.TextChoices):
        SUBMITTED_UNKNOWN = "submitted_unknown", "submitted on MTurk, unknown to us"
        KNOWN_NOT_SUBMITTED = "known_not_submitted", "finished with us, never submitted on MTurk"

    batch = models.ForeignKey("mturk.HitBatch", on_delete=models.PROTECT, related_name="discrepancies")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    worker_id = models.CharField(max_length=64)
    assignment_id = models.CharField(max_length=64)
    hit_id = models.CharField(max_length=64, blank=True)
    detail = models.TextField(blank=True)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, help_text="Who resolved it by hand (empty: the sync).")

    class Meta:
        ordering = ["-detected_at"]
        verbose_name_plural = "discrepancies"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "worker_id", "assignment_id"], name="mturk_one_discrepancy_per_kind_and_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.worker_id} / {self.assignment_id}"
