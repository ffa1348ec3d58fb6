from datetime import UTC, datetime

from django.db import models

from experiments.answer_input import MAX_PLAY_COUNT, MAX_RT_MS

# Client clocks are checked against the server's at the edge (experiments/answer_input.py); the
# database only guarantees that a stored client time can be read back (psycopg reads years 1-9999).
CLIENT_TIME_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))


def _client_time_in_range(name: str) -> models.Q:
    earliest, latest = CLIENT_TIME_RANGE
    return models.Q(**{f"{name}__isnull": True}) | models.Q(**{f"{name}__gte": earliest, f"{name}__lt": latest})


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"


class Response(models.Model):
    """One stored answer. Exactly once per (assignment, trial), and once per idempotency key.

    The client generates ``idempotency_key`` before the first send and reuses it on every retry;
    a repeat is answered from the stored row instead of writing another one.
    """

    # Indexes are paid on every answer, so there are only the ones a query or constraint needs: the
    # assignment is the leading column of ``one_response_per_trial`` (no index of its own), and the key
    # is unique by a constraint rather than ``unique=True``, which on PostgreSQL adds a second,
    # LIKE-pattern index to a CharField that nothing searches by pattern.
    assignment = models.ForeignKey(
        "experiments.Assignment", on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    trial = models.ForeignKey("experiments.Trial", on_delete=models.PROTECT, related_name="responses")
    idempotency_key = models.CharField(max_length=64)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    chosen_side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    is_catch = models.BooleanField(default=False)
    catch_passed = models.BooleanField(null=True, blank=True)
    rt_ms = models.PositiveIntegerField(null=True, blank=True)
    play_count = models.PositiveSmallIntegerField(default=1)
    presented_at = models.DateTimeField(null=True, blank=True, help_text="Client clock.")
    answered_at = models.DateTimeField(null=True, blank=True, help_text="Client clock.")
    received_at = models.DateTimeField(auto_now_add=True, help_text="Server clock.")
    skipped_reason = models.CharField(
        max_length=16,
        blank=True,
        choices=[("playback", "The media would not play")],
        help_text="A skipped trial: no rating or side; not a judgment (re-offered to others).",
    )
    events = models.JSONField(default=list, blank=True, help_text="Playback errors and stalls seen by the client.")

    class Meta:
        ordering = ["assignment", "trial__position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "trial"], name="one_response_per_trial"),
            models.UniqueConstraint(fields=["idempotency_key"], name="one_response_per_key"),
            models.CheckConstraint(
                name="rating_in_scale",
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=7),
            ),
            models.CheckConstraint(
                name="response_is_rating_or_choice",
                condition=models.Q(rating__isnull=False, chosen_side="", skipped_reason="")
                | models.Q(rating__isnull=True, chosen_side__in=["left", "right"], skipped_reason="")
                | models.Q(rating__isnull=True, chosen_side="", skipped_reason__in=["playback"]),
            ),
            models.CheckConstraint(
                name="catch_passed_only_on_catch",
                condition=models.Q(is_catch=True) | models.Q(catch_passed__isnull=True),
            ),
            models.CheckConstraint(
                name="rt_ms_bounded", condition=models.Q(rt_ms__isnull=True) | models.Q(rt_ms__lte=MAX_RT_MS)
            ),
            models.CheckConstraint(
                name="play_count_bounded", condition=models.Q(play_count__gte=1, play_count__lte=MAX_PLAY_COUNT)
            ),
            models.CheckConstraint(name="presented_at_readable", condition=_client_time_in_range("presented_at")),
            models.CheckConstraint(name="answered_at_readable", condition=_client_time_in_range("answered_at")),
        ]

    def __str__(self) -> str:
        answer = self.rating if self.rating is not None else self.chosen_side
        return f"response {self.pk}: {answer}"
