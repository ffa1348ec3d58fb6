from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from experiments.design.config import DesignError
from experiments.models import (
    Assignment,
    AudioCheckAttempt,
    Bundle,
    CatchStimulus,
    Experiment,
    InviteLink,
    Item,
    Participant,
    Response,
)
from experiments.services import designs, lifecycle


class _DryRun(Exception):
    pass


DESIGN_FIELDS = [
    "slug",
    "title",
    "kind",
    "seed",
    "config",
    "judgments_per_item",
    "trials_per_assignment",
    "catch_trials_per_assignment",
    "abandon_after_s",
    "instructions",
    "consent_text",
]


class ExperimentForm(forms.ModelForm):
    seed = forms.IntegerField(required=False, min_value=0, help_text="Leave empty for a random seed (stored).")

    class Meta:
        model = Experiment
        fields = DESIGN_FIELDS

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not self.errors:
            # Generate the design once inside a rolled-back transaction, so every design error shows
            # on the form instead of failing the save.
            try:
                with transaction.atomic():
                    designs.create_experiment(**{f: data[f] for f in DESIGN_FIELDS})
                    raise _DryRun
            except _DryRun:
                pass
            except DesignError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    list_display = ["slug", "title", "kind", "status", "judgments_per_item", "trials_per_assignment", "seed", "links"]
    list_filter = ["kind", "status"]
    search_fields = ["slug", "title"]
    readonly_fields = ["status", "designed_at", "opened_at", "closed_at", "created_at", "created_by"]
    actions = ["regenerate_design", "open_for_workers", "close_for_workers"]

    @admin.display(description="")
    def links(self, obj: Experiment) -> str:
        return format_html(
            '<a href="{}">progress</a> · <a href="{}">preview</a>',
            reverse("workspace:experiment", args=[obj.pk]),
            reverse("experiments:preview", args=[obj.pk]),
        )

    def save_model(self, request, obj, form, change):
        # New experiments go through the service so the config is validated and the design generated.
        if change:
            super().save_model(request, obj, form, change)
            return
        created = designs.create_experiment(**{f: form.cleaned_data[f] for f in DESIGN_FIELDS}, created_by=request.user)
        obj.pk = created.pk

    def _each(self, request, queryset, fn, done: str) -> None:
        for experiment in queryset:
            try:
                fn(experiment=experiment)
                messages.success(request, f"{experiment.slug}: {done}")
            except DesignError as exc:
                messages.error(request, f"{experiment.slug}: {exc}")

    @admin.action(description="Regenerate design from the stored seed")
    def regenerate_design(self, request, queryset):
        self._each(request, queryset, designs.generate_design, "design regenerated")

    @admin.action(description="Open to workers")
    def open_for_workers(self, request, queryset):
        self._each(request, queryset, lifecycle.open_experiment, "open")

    @admin.action(description="Close to new workers")
    def close_for_workers(self, request, queryset):
        self._each(request, queryset, lifecycle.close_experiment, "closed")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Design and response rows are written by services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = [
        "experiment",
        "index",
        "pairing",
        "direction",
        "condition",
        "first_kind",
        "second_kind",
        "completed_count",
    ]
    list_select_related = ["experiment", "pairing"]  # nullable: the admin's default join skips it
    list_filter = ["experiment", "direction", "condition"]


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "index", "round", "status", "n_trials"]
    list_filter = ["experiment", "status"]


@admin.register(CatchStimulus)
class CatchStimulusAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "kind", "text", "expected_rating", "state"]
    list_filter = ["experiment", "kind", "state"]


class AudioCheckAttemptInline(admin.TabularInline):
    model = AudioCheckAttempt
    fields = ["number", "kind", "expected", "answer", "correct", "issued_at", "answered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = [
        "experiment",
        "source",
        "worker_id",
        "assignment_id",
        "hit_id",
        "consented_at",
        "audio_check_attempts",
        "audio_check_passed_at",
        "screened_out_at",
        "is_simulated",
        "created_at",
    ]
    list_filter = ["experiment", "source", "screened_out_reason", "is_simulated"]
    search_fields = ["worker_id", "assignment_id", "hit_id"]
    exclude = ["token"]
    inlines = [AudioCheckAttemptInline]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "experiment",
        "participant",
        "bundle",
        "status",
        "n_answered",
        "n_trials",
        "started_at",
        "completed_at",
    ]
    list_filter = ["experiment", "status"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "assignment",
        "trial",
        "rating",
        "chosen_side",
        "is_catch",
        "catch_passed",
        "rt_ms",
        "received_at",
    ]
    list_filter = ["assignment__experiment", "is_catch", "catch_passed"]


@admin.register(InviteLink)
class InviteLinkAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "note", "created_at", "used_at", "participant"]
    list_select_related = ["experiment", "participant"]
    list_filter = ["experiment"]
    exclude = ["nonce"]
