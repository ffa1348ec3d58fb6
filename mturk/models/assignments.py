from django.db import models


class AssignmentStatus(models.TextChoices):
    """MTurk's AssignmentStatus. Accepted-but-not-submitted and returned assignments are never listed by MTurk."""

    SUBMITTED = "Submitted"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class MTurkAssignment(models.Model):
    """Our mirror of an assignment MTurk reports as submitted (or already approved/rejected).

    MTurk reuses an assignment id after a worker returns the HIT, but only the worker who finally
    submits it ever appears here, so the id is unique in the mirror; our participants are keyed by
    (worker id, assignment id) instead.
    """

    hit = models.ForeignKey("mturk.Hit", on_delete=models.PROTECT, related_name="assignments")
    assignment_id = models.CharField(max_length=64, unique=True)
    worker_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=9, choices=AssignmentStatus.choices, db_index=True)
    accept_time = models.DateTimeField(null=True, blank=True)
    submit_time = models.DateTimeField(null=True, blank=True)
    approval_time = models.DateTimeField(null=True, blank=True)
    rejection_time = models.DateTimeField(null=True, blank=True)
    auto_approval_time = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)
    requester_feedback = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "MTurk assignment"
        ordering = ["-submit_time", "-pk"]

    def __str__(self) -> str:
        return f"{self.assignment_id} by {self.worker_id} ({self.status})"
