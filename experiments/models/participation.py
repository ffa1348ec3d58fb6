"""Who works on what: participants (one per MTurk assignment or per invite link), their assignments
(an attempt at one bundle), the pairings each worker has been exposed to, and the audio check."""

from django.db import models


class ParticipantSource(models.TextChoices):
    MTURK = "mturk", "Amazon Mechanical Turk"
    LINK = "link", "Signed invite link"


class Participant(models.Model):
    """One entry into an experiment.

    On MTurk a participant is identified by (``worker_id``, ``assignment_id``) as MTurk sends them;
    off MTurk by a single-use signed invite link (``worker_id`` is then ``link:<nonce>``). The
    session ``token`` is the bearer credential in every worker URL: it is random, never derived
    from an id, and only this participant's trials and media are reachable with it.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="participants")
    source = models.CharField(max_length=8, choices=ParticipantSource.choices)
    worker_id = models.CharField(max_length=128, help_text="MTurk WorkerId, or link:<nonce> off MTurk.")
    assignment_id = models.CharField(max_length=128, blank=True, help_text="MTurk AssignmentId (blank off MTurk).")
    hit_id = models.CharField(max_length=128, blank=True, help_text="MTurk HITId (blank off MTurk).")
    turk_submit_to = models.URLField(max_length=300, blank=True, help_text="MTurk turkSubmitTo (blank off MTurk).")
    token = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=400, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    audio_check_sound = models.ForeignKey(
        "experiments.AudioCheckSound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audio_check_attempts = models.PositiveSmallIntegerField(default=0)
    audio_check_passed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "worker_id", "assignment_id"], name="unique_participant_per_mturk_assignment"
            ),
        ]
        indexes = [models.Index(fields=["experiment", "worker_id"], name="participant_by_worker")]

    def __str__(self) -> str:
        return f"participant {self.pk} ({self.source}) in experiment {self.experiment_id}"


class InviteLink(models.Model):
    """A single-use invitation: the first visit creates one participant; later visits resume it."""

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="invite_links")
    nonce = models.CharField(max_length=64, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    participant = models.OneToOneField(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="invite_link"
    )

    class Meta:
        ordering = ["experiment", "pk"]

    def __str__(self) -> str:
        return f"invite {self.pk} for experiment {self.experiment_id}"


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    ABANDONED = "abandoned", "Abandoned (released after the timeout)"


class Assignment(models.Model):
    """A participant's attempt at one bundle. At most one live (active or completed) per bundle."""

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="assignments")
    bundle = models.ForeignKey("experiments.Bundle", on_delete=models.PROTECT, related_name="assignments")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE)
    n_trials = models.PositiveIntegerField()
    n_answered = models.PositiveIntegerField(default=0)
    completion_code = models.CharField(max_length=32)
    started_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["experiment", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle"],
                condition=models.Q(status__in=["active", "completed"]),
                name="one_live_assignment_per_bundle",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(status="active"),
                name="one_active_assignment_per_participant",
            ),
            models.CheckConstraint(condition=models.Q(n_answered__lte=models.F("n_trials")), name="answered_le_trials"),
        ]
        indexes = [models.Index(fields=["status", "last_activity_at"], name="assignment_idle_scan")]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status}) of bundle {self.bundle_id}"


class Exposure(models.Model):
    """A pairing a worker has been (or is about to be) shown in an experiment.

    The unique constraint is the database's guarantee that no worker judges a pairing twice. Rows
    are written when a bundle is handed out; an abandoned assignment keeps only the rows of
    pairings the worker actually answered, so the rest can be offered to them again.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="+")
    worker_id = models.CharField(max_length=128)
    pairing = models.ForeignKey("annotation.Pairing", on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="exposures")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "worker_id", "pairing"], name="no_repeated_pairing_per_worker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} saw pairing {self.pairing_id}"


class AudioCheckSound(models.Model):
    """A short test sound for the audio check. The worker must pick its ``name`` from all names."""

    name = models.CharField(max_length=32, unique=True)
    description = models.CharField(max_length=200, help_text="What the worker reads as the answer option.")
    file = models.FileField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
