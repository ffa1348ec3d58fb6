"""The forms the admin shows: the batch form and the intermediate forms of actions that need input."""

from __future__ import annotations

from django import forms

from mturk.models import HitBatch
from mturk.modes import Mode
from mturk.safety import UnsafeTaskURL
from mturk.services.publishing import validate_batch_inputs

BATCH_FIELDS = [
    "study", "mode", "task_url", "frame_height", "title", "description", "keywords", "reward",
    "assignment_duration_s", "auto_approval_delay_s", "lifetime_s", "n_assignments",
    "max_assignments_per_hit", "allow_ten_plus_assignments", "planned_bonus_per_assignment",
    "min_approval_rate", "min_approved_hits", "locales", "require_masters", "exclude_returning_workers",
]  # fmt: skip


class ConfirmForm(forms.Form):
    confirm_live = forms.BooleanField(required=False, label="Yes, use LIVE Mechanical Turk (real workers, real money)")


class RejectForm(ConfirmForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=1024, help_text="Shown to the worker."
    )


class BonusForm(ConfirmForm):
    amount = forms.DecimalField(min_value=0.01, decimal_places=2, help_text="USD per selected assignment.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=1024, help_text="Shown to the worker."
    )
    approve = forms.BooleanField(required=False, initial=True, label="Approve after the bonus is paid")


class BlockForm(ConfirmForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1024)


class SuggestForm(forms.Form):
    min_pass_rate = forms.FloatField(
        min_value=0, max_value=1, initial=0.8, help_text="Suggest rejecting below this attention-check pass rate."
    )


class ExtendForm(ConfirmForm):
    hours = forms.FloatField(min_value=0.1, initial=24, help_text="New expiration: this many hours from now.")


class AddAssignmentsForm(ConfirmForm):
    number = forms.IntegerField(min_value=1, max_value=1000, help_text="Assignments to add to each selected HIT.")


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="What was done (kept on each row)."
    )


class HitBatchForm(forms.ModelForm):
    """Validates like ``services.publishing.create_batch``; the admin saves through that service."""

    class Meta:
        model = HitBatch
        fields = BATCH_FIELDS

    def clean(self):
        data = super().clean()
        if data.get("mode") and data.get("task_url"):
            try:
                validate_batch_inputs(
                    mode=Mode(data["mode"]), task_url=data["task_url"], locales=data.get("locales") or []
                )
            except (UnsafeTaskURL, ValueError) as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data
