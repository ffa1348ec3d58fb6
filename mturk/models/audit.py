from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from mturk.modes import Mode


class MTurkCall(models.Model):
    """One request to MTurk, successful or not: the audit log of everything that can move money.

    Requests carry no secrets (credentials travel in the signature, never in parameters), so they are
    kept verbatim.
    """

    operation = models.CharField(max_length=64, db_index=True)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    endpoint = models.CharField(max_length=200)
    request = models.JSONField(encoder=DjangoJSONEncoder)
    response = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    retry_attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(db_index=True)
    study = models.ForeignKey("mturk.MTurkStudy", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    batch = models.ForeignKey("mturk.HitBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="calls")
    actor = models.CharField(max_length=150, blank=True, help_text="Who or what made the call.")

    class Meta:
        verbose_name = "MTurk call"
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        outcome = "ok" if self.ok else self.error_code
        return f"{self.operation} ({self.mode}) {outcome}"

    @property
    def ok(self) -> bool:
        return not self.error_code
