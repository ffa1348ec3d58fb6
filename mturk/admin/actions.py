"""What every mturk admin action shares: an intermediate form before anything reaches MTurk, one way of
reporting results, and the read-only base for records the services write."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.shortcuts import render

from mturk.client import MTurkError
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services.budget import SpendingCapExceeded
from mturk.services.publishing import PublishError
from mturk.services.review import BulkResult, ReviewError

USER_ERRORS = (
    MTurkError,
    LiveModeNotConfirmed,
    UnsafeTaskURL,
    SpendingCapExceeded,
    PublishError,
    ReviewError,
    ValueError,
)


def confirm_then(modeladmin, request, queryset, *, form_class, title: str, action: str, live: bool, handle: Callable):
    """Render ``form_class`` for the selection; on a valid submission call ``handle(form.cleaned_data)``.

    A selection with live items also needs the live confirmation; a service's refusal becomes a message.
    """
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        if live and not form.cleaned_data["confirm_live"]:
            form.add_error("confirm_live", "The selection includes live items: confirm to continue.")
        else:
            try:
                handle(form.cleaned_data)
            except USER_ERRORS as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
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


def report(modeladmin, request, result: BulkResult, verb: str) -> None:
    level = messages.ERROR if result.failed else messages.SUCCESS
    modeladmin.message_user(request, result.summary(verb), level)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services (MTurk calls, spends, payments, grants): viewable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
