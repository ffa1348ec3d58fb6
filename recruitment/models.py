"""Panel links: one reusable public link per study and panel, keyed by the panel's participant id."""

from __future__ import annotations

from django.db import models

from annotation.links import DATABASE_PATTERN, validate_http_url


class PanelLink(models.Model):
    """A reusable public link a panel (a lab's pool, a survey panel) sends its members to.

    The panel appends its participant id as the query parameter ``id_parameter``; one participant is
    created per id (a second visit resumes the first), and at the end the worker is sent back to
    ``completion_url`` (or ``screened_out_url``) with a code.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="panel_links")
    slug = models.SlugField(max_length=64, unique=True, help_text="The link's public path: /r/<slug>/")
    id_parameter = models.CharField(max_length=32, default="pid", help_text="The query parameter with the panel's id.")
    completion_url = models.URLField(
        max_length=500,
        validators=[validate_http_url],
        help_text="Where a worker who finished goes; {code} and {pid} are filled in (else ?code= is appended).",
    )
    screened_out_url = models.URLField(
        max_length=500, blank=True, validators=[validate_http_url], help_text="Where a screened-out worker goes."
    )
    completion_code = models.CharField(max_length=32)
    screened_out_code = models.CharField(max_length=32)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(completion_url__regex=DATABASE_PATTERN), name="panel_completion_url_http"
            ),
            models.CheckConstraint(
                condition=models.Q(screened_out_url="") | models.Q(screened_out_url__regex=DATABASE_PATTERN),
                name="panel_screened_out_url_http",
            ),
            models.CheckConstraint(
                condition=models.Q(id_parameter__regex=r"^[A-Za-z_][A-Za-z0-9_]{0,31}$"), name="panel_id_parameter_name"
            ),
        ]

    def __str__(self) -> str:
        return f"panel link {self.slug} for experiment {self.experiment_id}"


class PanelEntry(models.Model):
    """Which panel participant id a participant entered with (de-duplicated per link)."""

    panel = models.ForeignKey(PanelLink, on_delete=models.CASCADE, related_name="entries")
    participant = models.OneToOneField("experiments.Participant", on_delete=models.CASCADE, related_name="panel_entry")
    panel_participant_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["panel", "panel_participant_id"], name="one_participant_per_panel_id")
        ]

    def __str__(self) -> str:
        return f"panel entry {self.pk} via {self.panel_id}"


class ProlificStudy(models.Model):
    """A Prolific study that sends its participants to this experiment.

    Either registered by hand (created on Prolific's site with the URL ``prolific_study`` prints) or created
    through Prolific's API by ``recruitment.prolific_services`` — then ``internal_name`` (unique, written
    locally before the remote call) is how a re-run after a crash finds the study it created instead of
    creating a second one. Only participants of a registered study can enter through the Prolific page.
    """

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="prolific_studies")
    study_id = models.CharField(max_length=24, blank=True, help_text="Prolific's study id (24 hex digits).")
    internal_name = models.CharField(max_length=100, unique=True, null=True, blank=True)
    completion_code = models.CharField(max_length=32, help_text="Prolific's COMPLETED code for this study.")
    screened_out_code = models.CharField(max_length=32, blank=True, help_text="Prolific's SCREENED_OUT code.")
    failed_attention_code = models.CharField(
        max_length=32,
        blank=True,
        help_text="Prolific's FAILED_ATTENTION_CHECK code (empty: finishers all get COMPLETED).",
    )
    min_attention_pass_rate = models.FloatField(
        default=0.8, help_text="Finishers below this share of correct attention checks get the failed-attention code."
    )
    places = models.PositiveIntegerField(null=True, blank=True)
    reward_cents = models.PositiveIntegerField(null=True, blank=True, help_text="Reward per participant, cents.")
    minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Estimated completion time, minutes.")
    spending_cap_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Publishing and bonuses are refused beyond it (rewards + fees + bonuses)."
    )
    remote_status = models.CharField(max_length=32, blank=True, help_text="Prolific's status at the last sync.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(study_id="") | models.Q(study_id__regex=r"^[0-9a-f]{24}$"),
                name="prolific_study_id_hex",
            ),
            models.UniqueConstraint(
                fields=["study_id"], condition=~models.Q(study_id=""), name="one_row_per_prolific_study"
            ),
            models.CheckConstraint(
                condition=models.Q(completion_code__regex=r"^[A-Za-z0-9_-]{1,32}$"), name="prolific_completion_code"
            ),
            models.CheckConstraint(
                condition=models.Q(min_attention_pass_rate__gte=0, min_attention_pass_rate__lte=1),
                name="prolific_attention_pass_rate_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"Prolific study {self.study_id or self.internal_name} for experiment {self.experiment_id}"


class ProlificEntry(models.Model):
    """How a participant entered through Prolific: the study and session Prolific sent them from."""

    study = models.ForeignKey(ProlificStudy, on_delete=models.CASCADE, related_name="entries")
    participant = models.OneToOneField(
        "experiments.Participant", on_delete=models.CASCADE, related_name="prolific_entry"
    )
    session_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Prolific entry {self.pk} via {self.study_id}"


class ProlificSubmission(models.Model):
    """A submission as Prolific reported it at the last sync, and what we did to it."""

    study = models.ForeignKey(ProlificStudy, on_delete=models.CASCADE, related_name="submissions")
    submission_id = models.CharField(max_length=24, unique=True)
    participant = models.ForeignKey(
        "experiments.Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="prolific_submissions"
    )
    prolific_pid = models.CharField(max_length=24)
    status = models.CharField(max_length=32)
    study_code = models.CharField(max_length=32, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Prolific submission {self.submission_id} ({self.status})"


class ProlificBonus(models.Model):
    """One bulk bonus payment: written before the remote calls, so a re-run after a crash pays it once."""

    class State(models.TextChoices):
        PENDING = "pending", "Written locally, not yet created on Prolific"
        CREATED = "created", "Created on Prolific, not yet paid"
        PAID = "paid", "Paid"

    study = models.ForeignKey(ProlificStudy, on_delete=models.CASCADE, related_name="bonuses")
    csv_bonuses = models.TextField(help_text="<prolific id>,<amount> lines, as Prolific takes them.")
    total_cents = models.PositiveIntegerField()
    remote_id = models.CharField(max_length=24, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    request_key = models.CharField(
        max_length=64, blank=True, help_text="What the bonus is for (a bonus rule's key): paid once per study and key."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "request_key"], condition=~models.Q(request_key=""), name="one_bonus_per_study_and_key"
            )
        ]

    def __str__(self) -> str:
        return f"bonus {self.pk} ({self.state}) for {self.study}"


class ProlificCall(models.Model):
    """The audit log: every call to Prolific's API, participant ids pseudonymised."""

    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request = models.JSONField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"
