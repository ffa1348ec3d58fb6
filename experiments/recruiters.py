"""The recruiter interface: what the platform asks of every channel that pays and messages workers.

``experiments`` cannot import the channel apps (``mturk``, ``recruitment``), so the recruiters are named in
the ``MVFIT_RECRUITERS`` setting (dotted paths, like Django's authentication backends) and loaded on first
use; the channel-independent services (bonus rules, ``experiments.services.bonuses``) look the recruiter up
by the participant's ``source``. Each recruiter is a
thin adapter over its app's own services, which keep their rules: audited calls, spending caps, idempotent
re-runs. Single-use invite links and panel links have no recruiter: their workers are paid outside the
platform, and the bonus preview lists what to pay them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from experiments.models import Experiment, Participant


@dataclass
class ChannelResult:
    """What a recruiter did: the participants done (paid, or found paid by an earlier run) and those that
    failed, with the reason. One failure never stops the others."""

    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


class Recruiter(Protocol):
    channel: str  # a ParticipantSource value
    label: str

    def pay_bonuses(
        self,
        *,
        experiment: Experiment,
        amounts_cents: Mapping[Participant, int],
        reason: str,
        key: str,
        actor: str,
        confirm_live: bool,
    ) -> ChannelResult:
        """Pay each participant their bonus, at most once per ``key`` (a re-run after a crash pays nothing
        twice), checked against the channel's spending cap."""
        ...

    def message(
        self, *, experiment: Experiment, participants: Sequence[Participant], subject: str, text: str, actor: str
    ) -> ChannelResult:
        """Send the participants a message through the channel."""
        ...

    def sync(self, *, experiment: Experiment, actor: str) -> str:
        """Bring the channel's view of the experiment (HITs and assignments, submissions) up to date; a
        one-line summary. Reading only: moves no money, safe to repeat."""
        ...


def _recruiters() -> dict[str, Recruiter]:
    loaded = (import_string(path)() for path in settings.MVFIT_RECRUITERS)
    return {recruiter.channel: recruiter for recruiter in loaded}


def recruiter_for(channel: str) -> Recruiter | None:
    return _recruiters().get(channel)


def channels() -> list[str]:
    return sorted(_recruiters())


def sync_all(*, experiment: Experiment, actor: str) -> dict[str, str]:
    """Sync the experiment on every channel; a channel that fails reports its error, the others still run."""
    results = {}
    for channel, recruiter in sorted(_recruiters().items()):
        try:
            results[channel] = recruiter.sync(experiment=experiment, actor=actor)
        except Exception as exc:  # a channel's own error type (MTurkError, ProlificError, ...): report, go on
            results[channel] = f"failed: {exc}"
    return results
