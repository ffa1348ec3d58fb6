"""Admin: studies and batches with their cost estimate and spending, review actions, the audit log.

Actions that need input (a rejection reason, a bonus, a live confirmation) show an intermediate form;
nothing is sent to MTurk until it is submitted.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join

from .client import MTurkError
from .models import (
    Bonus,
    Discrepancy,
    ExclusionQualification,
    Hit,
    HitBatch,
    MTurkAssignment,
    MTurkCall,
    MTurkEntry,
    MTurkStudy,
    QualificationGrant,
    ReviewSuggestion,
    Spend,
    WorkerBlock,
)
from .modes import Mode
from .safety import LiveModeNotConfirmed, UnsafeTaskURL
from .selectors import batch_progress, spending
from .services import hits as hit_changes
from .services import review, suggestions
from .services.audit import open_mturk
from .services.budget import SpendingCapExceeded
from .services.publishing import (
    PublishError,
    close_batch,
    create_hit_rows,
    publish_batch,
    validate_batch_inputs,
)
from .services.reconciliation import default_participant_source, sync_and_reconcile

USER_ERRORS = (MTurkError, LiveModeNotConfirmed, SpendingCapExceeded, PublishError, review.ReviewError, ValueError)


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


def _intermediate(modeladmin, request, queryset, *, form_class, title, action, handle, live):
    """Render ``form_class`` for the selection; on a valid submission call ``handle(form.cleaned_data)``."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        if live and not form.cleaned_data["confirm_live"]:
            form.add_error("confirm_live", "The selection includes live items: confirm to continue.")
        else:
            handle(form.cleaned_data)
            return None
    return render(
        request,
        "admin/mturk/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "live": live,
            "opts": modeladmin.model._meta,
        },
    )


def _report(modeladmin, request, result: review.BulkResult, verb: str) -> None:
    level = messages.ERROR if result.failed else messages.SUCCESS
    modeladmin.message_user(request, result.summary(verb), level)


@admin.register(MTurkStudy)
class MTurkStudyAdmin(admin.ModelAdmin):
    list_display = ["name", "spending_cap", "sandbox_spending", "live_spending", "created_at"]
    readonly_fields = ["nonce", "sandbox_spending", "live_spending"]
    search_fields = ["name"]

    @admin.display(description="sandbox")
    def sandbox_spending(self, obj):
        return spending(study=obj, mode=Mode.SANDBOX).line() if obj.pk else "-"

    @admin.display(description="live")
    def live_spending(self, obj):
        return spending(study=obj, mode=Mode.LIVE).line() if obj.pk else "-"


class SuggestForm(forms.Form):
    min_pass_rate = forms.FloatField(
        min_value=0, max_value=1, initial=0.8, help_text="Suggest rejecting below this attention-check pass rate."
    )


class HitInline(admin.TabularInline):
    model = Hit
    extra = 0
    can_delete = False
    fields = [
        "index",
        "hit_id",
        "state",
        "max_assignments",
        "status",
        "available",
        "pending",
        "completed",
        "expiration",
    ]
    readonly_fields = fields


class HitBatchForm(forms.ModelForm):
    class Meta:
        model = HitBatch
        fields = [
            "study", "mode", "task_url", "frame_height", "title", "description", "keywords", "reward",
            "assignment_duration_s", "auto_approval_delay_s", "lifetime_s", "n_assignments",
            "max_assignments_per_hit", "allow_ten_plus_assignments", "planned_bonus_per_assignment",
            "min_approval_rate", "min_approved_hits", "locales", "require_masters", "exclude_returning_workers",
        ]  # fmt: skip

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


@admin.register(HitBatch)
class HitBatchAdmin(admin.ModelAdmin):
    form = HitBatchForm
    list_display = ["pk", "title", "study", "mode", "state", "n_assignments", "reward", "estimated_cost", "created_at"]
    list_filter = ["mode", "state"]
    search_fields = ["title", "study__name", "hit_type_id"]
    readonly_fields = [
        "state",
        "hit_type_id",
        "live_confirmed_by",
        "live_confirmed_at",
        "published_at",
        "estimate",
        "progress",
    ]
    inlines = [HitInline]
    actions = ["publish", "sync", "suggest_rejections", "close"]

    def save_model(self, request, obj, form, change):
        # A new batch gets its HIT rows like one made by the command or the API.
        if not change:
            obj.created_by = request.user.username
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                create_hit_rows(batch=obj)

    def has_change_permission(self, request, obj=None):
        # A batch on MTurk is history: changing its fields here would not change the HITs.
        return super().has_change_permission(request, obj) and (obj is None or obj.state == HitBatch.State.DRAFT)

    @admin.display(description="estimated total")
    def estimated_cost(self, obj):
        return f"${obj.cost_estimate().total}"

    @admin.display(description="cost estimate")
    def estimate(self, obj):
        if not obj.pk:
            return "-"
        return format_html_join("", "<div>{}</div>", ((line,) for line in obj.cost_estimate().lines()))

    @admin.display(description="progress")
    def progress(self, obj):
        return ", ".join(f"{k} {v}" for k, v in batch_progress(obj).items()) if obj.pk else "-"

    @admin.action(description="Publish on MTurk (re-run safe)")
    def publish(self, request, queryset):
        live = queryset.filter(mode=Mode.LIVE).exists()

        def handle(data):
            for batch in queryset:
                try:
                    mturk = open_mturk(mode=batch.mode, confirm_live=data["confirm_live"], actor=request.user.username)
                    balance = mturk.get_account_balance()
                    report = publish_batch(
                        batch=batch, mturk=mturk, confirm_live=data["confirm_live"], actor=request.user.username
                    )
                except USER_ERRORS as exc:
                    self.message_user(request, f"batch {batch.pk}: {exc}", messages.ERROR)
                    continue
                self.message_user(
                    request,
                    f"batch {batch.pk}: {len(report.created)} created, {len(report.recovered)} recovered, "
                    f"{report.already_published} already on MTurk (balance ${balance.available}; "
                    f"{spending(study=batch.study, mode=batch.mode).line()})",
                    messages.SUCCESS,
                )

        return _intermediate(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title="Publish HIT batches",
            action="publish",
            handle=handle,
            live=live,
        )

    @admin.action(description="Sync with MTurk and reconcile")
    def sync(self, request, queryset):
        for mode in {b.mode for b in queryset}:
            try:
                # Reading live MTurk moves no money; the batches were confirmed when published.
                mturk = open_mturk(mode=mode, confirm_live=True, actor=request.user.username)
                summary = sync_and_reconcile(
                    mturk=mturk, participants=default_participant_source(), batches=list(queryset.filter(mode=mode))
                )
            except USER_ERRORS as exc:
                self.message_user(request, f"{mode}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{mode}: {summary.as_dict()}", messages.SUCCESS)

    @admin.action(description="Close (stop syncing; the HITs on MTurk are not touched)")
    def close(self, request, queryset):
        for batch in queryset:
            try:
                close_batch(batch=batch)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, "Closed batches are no longer synced.", messages.SUCCESS)

    @admin.action(description="Suggest rejections from attention checks")
    def suggest_rejections(self, request, queryset):
        def create(data):
            created = sum(
                len(suggestions.suggest_for_batch(batch=batch, min_pass_rate=data["min_pass_rate"]))
                for batch in queryset
            )
            self.message_user(
                request,
                f"{created} new suggestion(s): review them under Review suggestions (nothing sent to MTurk).",
                messages.SUCCESS,
            )

        # Suggestions only write local rows (nothing reaches MTurk), so there is no live confirmation.
        return _intermediate(
            self,
            request,
            queryset,
            form_class=SuggestForm,
            title="Suggest rejections",
            action="suggest_rejections",
            handle=create,
            live=False,
        )


class BonusInline(admin.TabularInline):
    model = Bonus
    extra = 0
    can_delete = False
    readonly_fields = ["worker_id", "amount", "reason", "state", "attempts", "error", "sent_at"]
    fields = readonly_fields


@admin.register(MTurkAssignment)
class MTurkAssignmentAdmin(admin.ModelAdmin):
    list_display = ["assignment_id", "worker_id", "hit", "status", "submit_time", "batch_mode"]
    list_filter = ["status", "hit__batch__mode", "hit__batch"]
    search_fields = ["assignment_id", "worker_id", "hit__hit_id"]
    readonly_fields = [f.name for f in MTurkAssignment._meta.fields]
    inlines = [BonusInline]
    actions = ["approve", "reject", "bonus", "block"]

    def has_add_permission(self, request):
        return False  # rows come from MTurk through the sync

    @admin.display(description="mode")
    def batch_mode(self, obj):
        return obj.hit.batch.mode

    def _run(self, request, queryset, data, verb, act):
        by_mode: dict[str, list] = {}
        for assignment in queryset.select_related("hit__batch"):
            by_mode.setdefault(assignment.hit.batch.mode, []).append(assignment)
        for mode, assignments in by_mode.items():
            try:
                mturk = open_mturk(mode=mode, confirm_live=data.get("confirm_live", False), actor=request.user.username)
            except LiveModeNotConfirmed as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            _report(self, request, review.bulk(assignments, lambda a, m=mturk: act(a, m, data)), verb)

    def _confirm_then_run(self, request, queryset, *, form_class, title, action, verb, act):
        """Ask for ``form_class`` (plus confirmation if live assignments are selected), then call
        ``act(assignment, mturk, form_data)`` for each selected assignment, per mode."""
        return _intermediate(
            self,
            request,
            queryset,
            form_class=form_class,
            title=title,
            action=action,
            live=queryset.filter(hit__batch__mode=Mode.LIVE).exists(),
            handle=lambda data: self._run(request, queryset, data, verb, act),
        )

    @admin.action(description="Approve (pays the reward)")
    def approve(self, request, queryset):
        actor = request.user.username
        return self._confirm_then_run(
            request,
            queryset,
            form_class=ConfirmForm,
            title="Approve assignments",
            action="approve",
            verb="Approved",
            act=lambda a, m, data: review.approve(assignment=a, mturk=m, actor=actor),
        )

    @admin.action(description="Reject (reason required)")
    def reject(self, request, queryset):
        actor = request.user.username
        return self._confirm_then_run(
            request,
            queryset,
            form_class=RejectForm,
            title="Reject assignments",
            action="reject",
            verb="Rejected",
            act=lambda a, m, data: review.reject(assignment=a, mturk=m, reason=data["reason"], actor=actor),
        )

    @admin.action(description="Bonus (then approve)")
    def bonus(self, request, queryset):
        actor = request.user.username

        def act(a, m, data):
            if data["approve"]:
                return review.pay(assignment=a, mturk=m, bonus=data["amount"], bonus_reason=data["reason"], actor=actor)
            return review.send_bonus(assignment=a, mturk=m, amount=data["amount"], reason=data["reason"], actor=actor)

        return self._confirm_then_run(
            request,
            queryset,
            form_class=BonusForm,
            title="Bonus assignments",
            action="bonus",
            verb="Bonused",
            act=act,
        )

    @admin.action(description="Block the workers")
    def block(self, request, queryset):
        actor = request.user.username
        return self._confirm_then_run(
            request,
            queryset,
            form_class=BlockForm,
            title="Block workers",
            action="block",
            verb="Blocked",
            act=lambda a, m, data: review.block_worker(
                mode=a.hit.batch.mode, worker_id=a.worker_id, reason=data["reason"], mturk=m, actor=actor
            ),
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services (MTurk calls, spends, payments, grants): viewable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MTurkCall)
class MTurkCallAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "operation",
        "mode",
        "ok",
        "error_code",
        "retry_attempts",
        "duration_ms",
        "batch",
        "actor",
    ]
    list_filter = ["mode", "operation", "error_code"]
    search_fields = ["operation", "error_message", "actor"]
    date_hierarchy = "started_at"


@admin.register(MTurkEntry)
class MTurkEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant", "hit", "mode"]
    list_select_related = ["hit__batch"]
    list_filter = ["hit__batch__mode"]

    @admin.display(description="marketplace")
    def mode(self, obj):
        return obj.hit.batch.mode


@admin.register(Spend)
class SpendAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "study", "mode", "kind", "amount", "state", "settled_at"]
    list_filter = ["mode", "kind", "state"]


@admin.register(Bonus)
class BonusAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "worker_id", "assignment", "amount", "state", "attempts", "sent_at"]
    list_filter = ["state"]
    search_fields = ["worker_id", "assignment__assignment_id"]


@admin.register(WorkerBlock)
class WorkerBlockAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "worker_id", "mode", "state", "reason"]
    list_filter = ["mode", "state"]
    search_fields = ["worker_id"]


class ExtendForm(ConfirmForm):
    hours = forms.FloatField(min_value=0.1, initial=24, help_text="New expiration: this many hours from now.")


class AddAssignmentsForm(ConfirmForm):
    number = forms.IntegerField(min_value=1, max_value=1000, help_text="Assignments to add to each selected HIT.")


@admin.register(Hit)
class HitAdmin(ReadOnlyAdmin):
    list_display = ["pk", "hit_id", "batch", "state", "status", "max_assignments", "completed", "expiration"]
    list_filter = ["state", "status", "batch__mode"]
    search_fields = ["hit_id"]
    actions = ["expire", "extend", "add_assignments"]

    def _change(self, request, queryset, data, verb, act):
        by_mode: dict[str, list] = {}
        for hit in queryset.filter(hit_id__isnull=False).select_related("batch__study"):
            by_mode.setdefault(hit.batch.mode, []).append(hit)
        for mode, hits in by_mode.items():
            try:
                mturk = open_mturk(mode=mode, confirm_live=data["confirm_live"], actor=request.user.username)
            except LiveModeNotConfirmed as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            result = review.bulk(hits, lambda hit, m=mturk: act(hit, m))
            _report(self, request, result, verb)

    def _live(self, queryset) -> bool:
        return queryset.filter(batch__mode=Mode.LIVE).exists()

    @admin.action(description="Expire now (workers on it can still submit)")
    def expire(self, request, queryset):
        actor = request.user.username
        return _intermediate(
            self, request, queryset, form_class=ConfirmForm, title="Expire HITs", action="expire",
            live=self._live(queryset),
            handle=lambda data: self._change(
                request, queryset, data, "Expired", lambda h, m: hit_changes.expire_hit(hit=h, mturk=m, actor=actor)
            ),
        )  # fmt: skip

    @admin.action(description="Extend the expiration")
    def extend(self, request, queryset):
        actor = request.user.username

        def handle(data):
            until = timezone.now() + dt.timedelta(hours=data["hours"])
            self._change(
                request, queryset, data, "Extended",
                lambda h, m: hit_changes.extend_hit(hit=h, mturk=m, until=until, actor=actor),
            )  # fmt: skip

        return _intermediate(
            self, request, queryset, form_class=ExtendForm, title="Extend HITs", action="extend",
            live=self._live(queryset), handle=handle,
        )  # fmt: skip

    @admin.action(description="Add assignments (costs money)")
    def add_assignments(self, request, queryset):
        actor = request.user.username
        return _intermediate(
            self, request, queryset, form_class=AddAssignmentsForm, title="Add assignments", action="add_assignments",
            live=self._live(queryset),
            handle=lambda data: self._change(
                request, queryset, data, "Extended",
                lambda h, m: hit_changes.add_assignments(hit=h, mturk=m, number=data["number"], actor=actor),
            ),
        )  # fmt: skip


@admin.register(ExclusionQualification)
class ExclusionQualificationAdmin(ReadOnlyAdmin):
    list_display = ["name", "study", "mode", "qualification_type_id"]


@admin.register(QualificationGrant)
class QualificationGrantAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "exclusion", "state", "attempts", "granted_at"]
    list_filter = ["state"]
    search_fields = ["worker_id"]


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = ["detected_at", "kind", "worker_id", "assignment_id", "batch", "detail", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["worker_id", "assignment_id", "detail"]  # a worker may quote their completion code
    readonly_fields = ["batch", "kind", "worker_id", "assignment_id", "hit_id", "detail", "detected_at", "resolved_at"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark resolved (dealt with by hand)")
    def mark_resolved(self, request, queryset):
        from django.utils import timezone

        n = queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolution=f"manually resolved by {request.user.username}"
        )
        self.message_user(request, f"{n} discrepancy(ies) marked resolved.", messages.SUCCESS)


@admin.register(ReviewSuggestion)
class ReviewSuggestionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "assignment", "action", "rule", "state", "decided_by"]
    list_filter = ["state", "action"]
    readonly_fields = ["assignment", "action", "reason", "rule", "state", "created_at", "decided_by", "decided_at"]
    actions = ["confirm", "dismiss"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Confirm: carry out (rejects the assignments)")
    def confirm(self, request, queryset):
        pending = queryset.filter(state=ReviewSuggestion.State.PENDING).select_related("assignment__hit__batch")
        live = pending.filter(assignment__hit__batch__mode=Mode.LIVE).exists()

        def handle(data):
            by_mode: dict[str, list] = {}
            for suggestion in pending:
                by_mode.setdefault(suggestion.assignment.hit.batch.mode, []).append(suggestion)
            for mode, items in by_mode.items():
                mturk = open_mturk(mode=mode, confirm_live=data["confirm_live"], actor=request.user.username)
                result = suggestions.confirm(
                    suggestions=items, mturk=mturk, actor=request.user.username, confirmed=True
                )
                _report(self, request, result, "Rejected")

        return _intermediate(
            self,
            request,
            pending,
            form_class=ConfirmForm,
            title="Carry out suggestions",
            action="confirm",
            handle=handle,
            live=live,
        )

    @admin.action(description="Dismiss")
    def dismiss(self, request, queryset):
        n = suggestions.dismiss(suggestions=list(queryset), actor=request.user.username)
        self.message_user(request, f"{n} suggestion(s) dismissed.", messages.SUCCESS)
