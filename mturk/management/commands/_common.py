"""Shared bits of the mturk_* commands: mode/live flags and turning service errors into CommandError."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import CommandError

from mturk.client import MTurk, MTurkError
from mturk.modes import Mode
from mturk.safety import LiveModeNotConfirmed, UnsafeTaskURL
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.hits import HitChangeError
from mturk.services.publishing import PublishError
from mturk.services.review import ReviewError


def dollars(value: str) -> Decimal:
    """argparse type for an amount in USD: a bad value is a usage error naming the option, not a traceback."""
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in dollars (e.g. 1.50)") from None
    if not amount.is_finite():
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in dollars (e.g. 1.50)")
    if amount < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: an amount in dollars cannot be negative")
    return amount


def add_mode_arguments(parser, *, mode_required: bool = True) -> None:
    parser.add_argument(
        "--mode",
        choices=Mode.values,
        required=mode_required,
        help="sandbox or live; there is no default, say which marketplace you mean",
    )
    parser.add_argument(
        "--confirm-live", action="store_true", help="required for anything on LIVE MTurk (real workers, real money)"
    )


def client(mode: str, options: dict, *, actor: str = "command line") -> MTurk:
    with user_errors():
        return open_mturk(mode=mode, confirm_live=options.get("confirm_live", False), actor=actor)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (
        LiveModeNotConfirmed,
        UnsafeTaskURL,
        SpendingCapExceeded,
        PublishError,
        ReviewError,
        HitChangeError,
        MTurkError,
    ) as exc:
        raise CommandError(str(exc)) from exc
    except ValidationError as exc:
        raise CommandError(_describe(exc)) from exc
    except ValueError as exc:  # bad locale, no open bundles, missing cap...
        raise CommandError(str(exc)) from exc


def _describe(error: ValidationError) -> str:
    """A model validation error as one line that names each field ("lifetime_s: ...; reward: ...")."""
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        message if field == NON_FIELD_ERRORS else f"{field}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    )
