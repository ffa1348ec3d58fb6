"""Records the services write: the MTurk audit log, entries, spends, payments, blocks, qualifications,
and the discrepancies reconciliation finds (resolved by hand through an audited service)."""

from __future__ import annotations

from django.contrib import admin, messages

from mturk.services.reconciliation import resolve_discrepancies

from .actions import ReadOnlyAdmin, confirm_then
from .forms import ResolveForm


class MTurkCallAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at", "operation", "mode", "ok", "error_code", "retry_attempts", "duration_ms", "batch", "actor",
    ]  # fmt: skip
    list_select_related = ["batch"]
    list_filter = ["mode", "operation", "error_code"]
    search_fields = ["operation", "error_message", "actor"]
    date_hierarchy = "started_at"


class MTurkEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant", "hit", "mode"]
    list_select_related = ["hit__batch", "participant"]
    list_filter = ["hit__batch__mode"]

    @admin.display(description="marketplace")
    def mode(self, obj):
        return obj.hit.batch.mode


class SpendAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "study", "mode", "kind", "amount", "state", "settled_at"]
    list_select_related = ["study"]
    list_filter = ["mode", "kind", "state"]


class BonusAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "worker_id", "assignment", "amount", "state", "attempts", "sent_at"]
    list_select_related = ["assignment"]
    list_filter = ["state"]
    search_fields = ["worker_id", "assignment__assignment_id"]


class WorkerBlockAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "worker_id", "mode", "state", "reason"]
    list_filter = ["mode", "state"]
    search_fields = ["worker_id"]


class ExclusionQualificationAdmin(ReadOnlyAdmin):
    list_display = ["name", "study", "mode", "qualification_type_id"]
    list_select_related = ["study"]


class QualificationGrantAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "exclusion", "state", "attempts", "granted_at"]
    list_select_related = ["exclusion"]
    list_filter = ["state"]
    search_fields = ["worker_id"]


class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = [
        "detected_at",
        "kind",
        "worker_id",
        "assignment_id",
        "batch",
        "detail",
        "resolved_at",
        "resolved_by",
    ]
    list_select_related = ["batch"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["worker_id", "assignment_id", "detail"]  # a worker may quote their completion code
    readonly_fields = [
        "batch", "kind", "worker_id", "assignment_id", "hit_id", "detail", "detected_at", "resolved_at",
        "resolved_by", "resolution",
    ]  # fmt: skip
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark resolved (dealt with by hand)")
    def mark_resolved(self, request, queryset):
        def handle(data):
            n = resolve_discrepancies(discrepancies=list(queryset), actor=request.user.username, note=data["note"])
            self.message_user(request, f"{n} discrepancy(ies) marked resolved.", messages.SUCCESS)

        return confirm_then(
            self, request, queryset, form_class=ResolveForm, title="Resolve discrepancies", action="mark_resolved",
            live=False, handle=handle,
        )  # fmt: skip
