from django.db import models


class ReviewSuggestion(models.Model):
    """A rule's proposal (e.g. reject: failed attention checks) waiting for the experimenter's decision."""

    class State(models.TextChoices):
        PENDING = "pending", "waiting for the experimenter"
        CONFIRMED = "confirmed", "confirmed and carried out"
        DISMISSED = "dismissed"

    assignment = models.ForeignKey("mturk.MTurkAssignment", on_delete=models.PROTECT, related_name="suggestions")
    action = models.CharField(max_length=8, default="reject")
    reason = models.TextField()
    rule = models.CharField(max_length=200, help_text="Which rule, with which threshold.")
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["assignment", "action"], name="mturk_one_suggestion_per_action")]

    def __str__(self) -> str:
        return f"{self.action} {self.assignment.assignment_id}? ({self.state})"
