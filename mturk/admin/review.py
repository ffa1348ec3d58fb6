"""Assignments and review suggestions: every action asks first, then calls ``services.review_actions``."""

from __future__ import annotations

from django.contrib import admin, messages

from mturk import selectors
from mturk.models import Bonus, MTurkAssignment
from mturk.services import review_actions, suggestions
from mturk.services.review_actions import Action, Decision

from .actions import confirm_then, report
from .forms import BlockForm, BonusForm, ConfirmForm, RejectForm


class BonusInline(admin.TabularInline):
    model = Bonus
    extra = 0
    can_delete = False
    readonly_fields = ["worker_id", "amount", "reason", "state", "attempts", "error", "sent_at"]
    fields = readonly_fields


def review_action(action: str, description: str, form_class, title: str):
    """An admin action that asks for ``form_class``, then reviews the selection (``MTurkAssignmentAdmin._review``)."""

    def run(modeladmin, request, queryset):
        return modeladmin._review(request, queryset, action=action, form_class=form_class, title=title)

    run.__name__ = action
    return admin.action(description=description)(run)


class MTurkAssignmentAdmin(admin.ModelAdmin):
    list_display = ["assignment_id", "worker_id", "hit", "status", "submit_time", "batch_mode"]
    list_select_related = ["hit__batch"]
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

    def _review(self, request, queryset, *, action: str, form_class, title: str):
        """Ask for ``form_class`` (plus the live confirmation if live assignments are selected), then review."""
        assignments = review_actions.select_assignments(pks=queryset.values_list("pk", flat=True))

        def handle(data):
            chosen = Action.PAY if action == Action.BONUS and data["approve"] else Action(action)
            decision = Decision(action=chosen, reason=data.get("reason", ""), amount=data.get("amount"))
            result = review_actions.review_assignments(
                assignments=assignments, decision=decision, confirm_live=data["confirm_live"],
                actor=request.user.username,
            )  # fmt: skip
            report(self, request, result, review_actions.DONE[chosen].capitalize())

        live = review_actions.selection_is_live(assignments, mode_of=review_actions.assignment_mode)
        return confirm_then(
            self, request, queryset, form_class=form_class, title=title, action=action, live=live, handle=handle
        )

    approve = review_action("approve", "Approve (pays the reward)", ConfirmForm, "Approve assignments")
    reject = review_action("reject", "Reject (reason required)", RejectForm, "Reject assignments")
    bonus = review_action("bonus", "Bonus (then approve)", BonusForm, "Bonus assignments")
    block = review_action("block", "Block the workers", BlockForm, "Block workers")


class ReviewSuggestionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "assignment", "action", "rule", "state", "decided_by"]
    list_select_related = ["assignment"]
    list_filter = ["state", "action"]
    readonly_fields = ["assignment", "action", "reason", "rule", "state", "created_at", "decided_by", "decided_at"]
    actions = ["confirm", "dismiss"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Confirm: carry out (rejects the assignments)")
    def confirm(self, request, queryset):
        pending = selectors.pending_suggestions(pks=queryset.values_list("pk", flat=True))

        def handle(data):
            result = review_actions.confirm_suggestions(
                items=pending, confirmed=True, confirm_live=data["confirm_live"], actor=request.user.username
            )
            report(self, request, result, "Rejected")

        live = review_actions.selection_is_live(pending, mode_of=lambda s: s.assignment.hit.batch.mode)
        return confirm_then(
            self, request, pending, form_class=ConfirmForm, title="Carry out suggestions", action="confirm",
            handle=handle, live=live,
        )  # fmt: skip

    @admin.action(description="Dismiss")
    def dismiss(self, request, queryset):
        n = suggestions.dismiss(suggestions=list(queryset), actor=request.user.username)
        self.message_user(request, f"{n} suggestion(s) dismissed.", messages.SUCCESS)
