"""Persist the audit record of every MTurk call, and open audited clients.

Calls are recorded in autocommit mode: services that talk to MTurk never hold a database transaction
open across a call, because the call cannot be rolled back and its record must survive a later error.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from experiments.services.pseudonyms import pseudonym_key, pseudonymise
from mturk.client import CallRecord, MTurk, default_client_factory
from mturk.models import MTurkCall
from mturk.modes import Mode


def record_call(call: CallRecord) -> None:
    MTurkCall.objects.create(
        operation=call.operation,
        mode=call.mode,
        endpoint=call.endpoint,
        request=call.request,
        response=call.response,
        error_code=call.error_code,
        error_message=call.error_message,
        duration_ms=call.duration_ms,
        retry_attempts=call.retry_attempts,
        started_at=call.started_at,
        study_id=call.context.get("study_id"),
        batch_id=call.context.get("batch_id"),
        actor=call.context.get("actor", "")[:150],
    )


def _client_factory():
    # Tests point MTURK_CLIENT_FACTORY at a factory that attaches botocore's Stubber to a real client.
    dotted = getattr(settings, "MTURK_CLIENT_FACTORY", None)
    if dotted:
        return import_string(dotted)
    return functools.partial(
        default_client_factory,
        profile=getattr(settings, "MTURK_AWS_PROFILE", None),
        max_attempts=getattr(settings, "MTURK_MAX_RETRIES", 8),
    )


def open_mturk(*, mode: Mode | str, confirm_live: bool = False, actor: str = "") -> MTurk:
    """An audited client for one marketplace. Live needs ``confirm_live=True``.

    The audit log stores WorkerIds as the exports' pseudonyms, so without ``MVFIT_PSEUDONYM_KEY`` no client
    opens (``ImproperlyConfigured``, before any call is made).
    """
    return MTurk(
        mode=Mode(mode),
        confirm_live=confirm_live,
        client_factory=_client_factory(),
        recorder=record_call,
        worker_pseudonym=functools.partial(pseudonymise, key=pseudonym_key()),
        context={"actor": actor},
    )
