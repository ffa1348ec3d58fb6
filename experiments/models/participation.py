"""Who works on what: participants (one per MTurk assignment or per invite link), their assignments
(an attempt at one bundle), the pairings each worker has been exposed to, and the audio check."""

from django.db import models


class ParticipantSource(models.TextChoices):
    """The channel a participant entered through. A channel app keeps what it verified at entry
    (MTurk: ``mturk.MTurkEntry``, the HIT and so the marketplace)."""

    MTURK = "mturk", "Amazon Mechanical Turk"
    LINK = "link", "Single-use invite link"
    PANEL = "panel", "Panel link (recruitment.PanelEntry)"
    PROLIFIC = "prolific", "Prolific (recruitment.ProlificEntry)"


class ScreeningReason(models.TextChoices):
    SOUND_CHECK = "sound_check", "Did not pass the sound check"
    HEADPHONES = "headphones", "Did not pass the headphone screen"


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
    audio_check_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Sound-check attempts answered (each one is an AudioCheckAttempt)."
    )
    audio_check_passed_at = models.DateTimeField(null=True, blank=True)
    headphone_passed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the headphone screen was passed (stays empty when none is configured)."
    )
    screened_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When a screening check ended the session (no work is handed out after)."
    )
    screened_out_reason = models.CharField(max_length=32, blank=True, choices=ScreeningReason.choices)
    is_simulated = models.BooleanField(
        default=False,
        help_text="A simulated participant (the demo's crowd), never a person; set when it is created.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "worker_id", "assignment_id"], name="unique_participant_per_mturk_assignment"
            ),
            models.CheckConstraint(
                condition=models.Q(screened_out_at__isnull=True, screened_out_reason="")
                | models.Q(screened_out_at__isnull=False) & ~models.Q(screened_out_reason=""),
                name="participant_screened_out_with_reason",
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
            # The target of the exposures' composite foreign key (``EXPOSURE_IN_ITS_ASSIGNMENT``).
            models.UniqueConstraint(fields=["id", "experiment"], name="assignment_in_its_experiment"),
        ]
        # The idle scan (``allocation.release_abandoned``) reads an experiment's active assignments: few
        # at any time. No index may hold ``n_answered`` or ``last_activity_at``, which every answer
        # updates: then the update is HOT (heap-only: no index entry written, see the migration's
        # fillfactor) instead of a new entry in each of the table's indexes.
        indexes = [
            models.Index(fields=["experiment"], condition=models.Q(status="active"), name="assignment_active_scan")
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status}) of bundle {self.bundle_id}"


class WorkerBundleSlot(models.Model):
    """One bundle a worker started in a study with a per-worker cap (``Experiment.max_bundles_per_worker``).

    The database enforces the cap: slots are numbered per (experiment, worker id), uniquely, and a number above
    the cap copied into the row is refused -- so even two starts of the same worker at once (two MTurk
    assignments in two tabs) cannot take one bundle more than the cap.
    """

    # No index of its own: the unique constraint below leads with it (one index less per exposure row).
    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="+", db_index=False)
    worker_id = models.CharField(max_length=128)
    number = models.PositiveSmallIntegerField()
    cap = models.PositiveSmallIntegerField()
    assignment = models.OneToOneField("experiments.Assignment", on_delete=models.CASCADE, related_name="worker_slot")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "worker_id", "number"], name="one_worker_slot_per_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=models.F("cap")), name="worker_slots_within_cap"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id}: bundle {self.number} of at most {self.cap} in experiment {self.experiment_id}"


class Exposure(models.Model):
    """A pairing a worker has been (or is about to be) shown in an experiment.

    The unique constraint is the database's guarantee that no worker judges a pairing twice. Rows
    are written when a bundle is handed out; an abandoned assignment keeps only the rows of
    pairings the worker actually answered, so the rest can be offered to them again.

    A join writes 50 of these rows, and a foreign key costs a trigger call per row (it looks up and
    locks the referenced row), so the assignment and the experiment are one composite foreign key
    instead of two, ``(assignment, experiment) -> assignment (id, experiment)`` with ``ON DELETE
    CASCADE`` (``EXPOSURE_IN_ITS_ASSIGNMENT``, migration ``0015``; PostgreSQL): the assignment exists and
    the row's experiment is its assignment's. Django still cascades deletes itself.

    The pairing has neither a key check nor an index of its own (migration ``0016``): during a burst of
    joins, concurrent bundles share pairings (each is in ``k`` of them), and inserting their exposure rows
    into one pairing-ordered index was about a quarter of a join's PostgreSQL time (measured in
    ``bench/joins.py``: about 1.2 -> 0.9 ms of PostgreSQL CPU per join). The pairing is still held in the
    database, one step away: exposure rows are written only from the assignment's bundle's
    ``BundlePairing`` rows (``allocation``), whose key to the pairing the database checks, and the
    bundle outlives its assignments and their exposures (an assignment's key to its bundle; the
    composite key above cascades an assignment's deletion to its exposures). So a pairing an exposure
    names cannot be deleted, by Django (``PROTECT``, here and on ``BundlePairing``) or by hand.
    """

    # No index of its own: the unique constraint below leads with it (one index less per exposure row).
    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    worker_id = models.CharField(max_length=128)
    # No key check or index of its own: held through the bundle's pairings (see above).
    pairing = models.ForeignKey(
        "annotation.Pairing", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="exposures", db_constraint=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "worker_id", "pairing"], name="no_repeated_pairing_per_worker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} saw pairing {self.pairing_id}"


# The composite foreign key Django cannot declare (created by migration 0015 on PostgreSQL).
EXPOSURE_IN_ITS_ASSIGNMENT = "exposure_in_its_assignment"


class AudioCheckAttempt(models.Model):
    """One try at the sound check: the sound drawn for it (kept server-side), and the answer given.

    The sound is synthesised from ``params`` whenever it is fetched (``experiments.media.soundcheck``), so
    nothing is stored but these parameters; ``nonce`` names it in its sealed URL.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="audio_checks")
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt.")
    kind = models.CharField(max_length=32)
    nonce = models.CharField(max_length=32, unique=True)
    params = models.JSONField(help_text="What was played; never sent to the worker.")
    expected = models.CharField(max_length=64)
    answer = models.CharField(max_length=64, blank=True)
    correct = models.BooleanField(null=True, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="one_audio_check_attempt_per_number"),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(answered_at__isnull=True),
                name="one_open_audio_check_attempt",
            ),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="audio_check_attempt_number_positive"),
            models.CheckConstraint(
                condition=models.Q(answered_at__isnull=True, correct__isnull=True)
                | models.Q(answered_at__isnull=False, correct__isnull=False),
                name="audio_check_attempt_answered_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"sound check {self.number} of participant {self.participant_id}"


class HeadphoneTrial(models.Model):
    """One trial of a headphone screen (``experiments.media.headphones``): what was played (server-side
    only), the right answer, the worker's answer. The sound is synthesised from ``params`` when fetched."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="headphone_trials")
    test = models.CharField(max_length=16, choices=[("antiphase", "Antiphase"), ("huggins", "Huggins pitch")])
    number = models.PositiveSmallIntegerField(help_text="1 for the first trial of this test.")
    nonce = models.CharField(max_length=32, unique=True)
    params = models.JSONField(help_text="What was played; never sent to the worker.")
    expected = models.PositiveSmallIntegerField(help_text="The interval (1-3) that is the right answer.")
    answer = models.PositiveSmallIntegerField(null=True, blank=True)
    correct = models.BooleanField(null=True, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "issued_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "test", "number"], name="one_headphone_trial_per_number"),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(answered_at__isnull=True),
                name="one_open_headphone_trial",
            ),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="headphone_trial_number_positive"),
            models.CheckConstraint(
                condition=models.Q(expected__gte=1, expected__lte=3), name="headphone_trial_expected_interval"
            ),
            models.CheckConstraint(
                condition=models.Q(answered_at__isnull=True, answer__isnull=True, correct__isnull=True)
                | models.Q(answered_at__isnull=False, answer__gte=1, answer__lte=3, correct__isnull=False),
                name="headphone_trial_answered_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.test} trial {self.number} of participant {self.participant_id}"


class QuestionnaireResponse(models.Model):
    """A participant's answers to the experiment's questionnaire (``experiments.questionnaire``), validated
    against its definition before they are stored; a skipped optional item is absent from ``answers``."""

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, related_name="questionnaire")
    answers = models.JSONField(help_text="item key -> answer (text or integer).")
    submitted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"questionnaire of participant {self.participant_id}"


class ExclusionGroup(models.Model):
    """Related studies a worker may take part in only once: whoever entered one cannot enter another.

    Enforced by the database: entering inserts a :class:`GroupMembership` per group of the experiment, unique
    per (group, worker id), so a second study of the group is refused even under concurrent entries. A worker
    id is per channel (an MTurk WorkerId, ``prolific:<id>``, ``panel:<link>:<id>``).
    """

    name = models.SlugField(max_length=64, unique=True)
    experiments = models.ManyToManyField("experiments.Experiment", related_name="exclusion_groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"exclusion group {self.name}"


class GroupMembership(models.Model):
    """That a worker took part in a study of an exclusion group (and which)."""

    group = models.ForeignKey(ExclusionGroup, on_delete=models.CASCADE, related_name="members")
    worker_id = models.CharField(max_length=128)
    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "worker_id"], name="once_per_exclusion_group")]

    def __str__(self) -> str:
        return f"{self.worker_id} in {self.group_id} via experiment {self.experiment_id}"
