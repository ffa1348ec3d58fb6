"""Studies, HIT batches and HITs: cost estimates, spending, publishing, syncing and changing HITs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join

from mturk import selectors
from mturk.models import Hit, HitBatch
from mturk.modes import Mode
from mturk.services import review_actions, suggestions
from mturk.services.audit import open_mturk
from mturk.services.publishing import close_batch, create_batch, publish_batch, update_draft_batch
from mturk.services.reconciliation import default_participant_source, sync_and_reconcile

from .actions import USER_ERRORS, ReadOnlyAdmin, confirm_then, report
from .forms import AddAssignmentsForm, ConfirmForm, ExtendForm, HitBatchForm, SuggestForm


class MTurkStudyAdmin(admin.ModelAdmin):
    list_display = ["name", "spending_cap", "sandbox_spending", "live_spending", "created_at"]
    readonly_fields = ["nonce", "sandbox_spending", "live_spending"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return selectors.study_list()  # spending per marketplace annotated: no query per row

    @admin.display(description="sandbox")
    def sandbox_spending(self, obj):
        return selectors.spending(study=obj, mode=Mode.SANDBOX).line() if obj.pk else "-"

    @admin.display(description="live")
    def live_spending(self, obj):
        return selectors.spending(study=obj, mode=Mode.LIVE).line() if obj.pk else "-"


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


class HitBatchAdmin(admin.ModelAdmin):
    form = HitBatchForm
    list_display = ["pk", "title", "study", "mode", "state", "n_assignments", "reward", "estimated_cost", "created_at"]
    list_filter = ["mode", "state"]
    search_fields = ["title", "study__name", "hit_type_id"]
    readonly_fields = [
        "state", "hit_type_id", "live_confirmed_by", "live_confirmed_at", "published_at", "estimate", "progress",
    ]  # fmt: skip
    inlines = [HitInline]
    actions = ["publish", "sync", "suggest_rejections", "close"]

    def get_queryset(self, request):
        return selectors.batch_list()  # study and progress annotated: no query per row

    def save_model(self, request, obj, form, change):
        # Batches are made (and drafts changed) only by the publishing service, HIT rows included.
        data = {name: form.cleaned_data[name] for name in form.Meta.fields if name in form.cleaned_data}
        if change:
            saved = update_draft_batch(batch=obj, **data)
        else:
            saved = create_batch(created_by=request.user.username, **data)
        obj.pk, obj.created_by, obj._state.adding = saved.pk, saved.created_by, False

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
        return ", ".join(f"{k} {v}" for k, v in selectors.batch_progress(obj).items()) if obj.pk else "-"

    @admin.action(description="Publish on MTurk (re-run safe)")
    def publish(self, request, queryset):
        def handle(data):
            for batch in queryset:
                self._publish_one(request, batch, confirm_live=data["confirm_live"])

        live = any(batch.mode == Mode.LIVE for batch in queryset)
        return confirm_then(
            self, request, queryset, form_class=ConfirmForm, title="Publish HIT batches", action="publish",
            live=live, handle=handle,
        )  # fmt: skip

    def _publish_one(self, request, batch: HitBatch, *, confirm_live: bool) -> None:
        actor = request.user.username
        try:
            mturk = open_mturk(mode=batch.mode, confirm_live=confirm_live, actor=actor)
            balance = mturk.get_account_balance()
            done = publish_batch(batch=batch, mturk=mturk, confirm_live=confirm_live, actor=actor)
        except USER_ERRORS as exc:
            return self.message_user(request, f"batch {batch.pk}: {exc}", messages.ERROR)
        self.message_user(
            request,
            f"batch {batch.pk}: {len(done.created)} created, {len(done.recovered)} recovered, "
            f"{done.already_published} already on MTurk (balance ${balance.available}; "
            f"{selectors.spending(study=batch.study, mode=batch.mode).line()})",
            messages.SUCCESS,
        )

    @admin.action(description="Sync with MTurk and reconcile")
    def sync(self, request, queryset):
        for mode in sorted({b.mode for b in queryset}):
            try:
                # Reading live MTurk moves no money; the batches were confirmed when published.
                mturk = open_mturk(mode=mode, confirm_live=True, actor=request.user.username)
                batches = [b for b in queryset if b.mode == mode]
                summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=batches)
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
        return confirm_then(
            self, request, queryset, form_class=SuggestForm, title="Suggest rejections",
            action="suggest_rejections", handle=create, live=False,
        )  # fmt: skip


def hit_action(name: str, change: str, description: str, form_class, verb: str):
    """An admin action that asks for ``form_class``, then changes the selected HITs (``HitAdmin._change``)."""

    def run(modeladmin, request, queryset):
        return modeladmin._change(
            request, queryset, form_class=form_class, title=description, action=name, change=change, verb=verb
        )

    run.__name__ = name
    return admin.action(description=description)(run)


class HitAdmin(ReadOnlyAdmin):
    list_display = ["pk", "hit_id", "batch", "state", "status", "max_assignments", "completed", "expiration"]
    list_select_related = ["batch"]
    list_filter = ["state", "status", "batch__mode"]
    search_fields = ["hit_id"]
    actions = ["expire", "extend", "add_assignments"]

    def _change(self, request, queryset, *, form_class, title: str, action: str, change: str, verb: str):
        hits = selectors.hits_on_mturk(queryset.values_list("pk", flat=True))

        def handle(data):
            what = review_actions.HitChange(action=change, hours=data.get("hours"), number=data.get("number"))
            result = review_actions.change_hits(
                hits=hits, change=what, confirm_live=data["confirm_live"], actor=request.user.username
            )
            report(self, request, result, verb)

        live = review_actions.selection_is_live(hits, mode_of=review_actions.hit_mode)
        return confirm_then(
            self, request, queryset, form_class=form_class, title=title, action=action, live=live, handle=handle
        )

    expire = hit_action("expire", "expire", "Expire now (workers on it can still submit)", ConfirmForm, "Expired")
    extend = hit_action("extend", "extend", "Extend the expiration", ExtendForm, "Extended")
    add_assignments = hit_action(
        "add_assignments", "add", "Add assignments (costs money)", AddAssignmentsForm, "Extended"
    )
