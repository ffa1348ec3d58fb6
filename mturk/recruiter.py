"""Mechanical Turk behind the recruiter interface (``experiments.recruiters``): bonuses and messages through
the existing review services, which keep MTurk's rules -- one bonus per worker and assignment, ever (a re-run
pays nothing twice), paid under the study's spending cap, every call audited, live only when confirmed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from experiments.models import Experiment, Participant, ParticipantSource
from experiments.recruiters import ChannelResult
from mturk.client import MTurkError
from mturk.models import HitBatch, MTurkAssignment
from mturk.safety import LiveModeNotConfirmed
from mturk.services import review
from mturk.services.audit import open_mturk
from mturk.services.budget import SpendingCapExceeded
from mturk.services.reconciliation import ACTIVE_STATES, default_participant_source, sync_and_reconcile

FAILURES = (review.ReviewError, MTurkError, SpendingCapExceeded, LiveModeNotConfirmed, ValueError)


class MTurkRecruiter:
    channel = ParticipantSource.MTURK
    label = "Amazon Mechanical Turk"

    @staticmethod
    def _assignments(participants) -> tuple[dict[str, list[tuple[Participant, MTurkAssignment]]], ChannelResult]:
        """The participants' MTurk assignments grouped by marketplace; those MTurk has not reported are failed."""
        result = ChannelResult()
        found = {
            a.assignment_id: a
            for a in MTurkAssignment.objects.select_related("hit__batch__study").filter(
                assignment_id__in=[p.assignment_id for p in participants]
            )
        }
        by_mode: dict[str, list[tuple[Participant, MTurkAssignment]]] = {}
        for p in participants:
            if (a := found.get(p.assignment_id)) is None or a.worker_id != p.worker_id:
                result.failed.append((p.pk, "MTurk has not reported this assignment yet: run mturk_sync first."))
            else:
                by_mode.setdefault(a.hit.batch.mode, []).append((p, a))
        return by_mode, result

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
        by_mode, result = self._assignments(list(amounts_cents))
        for mode, pairs in sorted(by_mode.items()):
            try:
                mturk = open_mturk(mode=mode, confirm_live=confirm_live, actor=actor)
            except FAILURES as exc:
                result.failed += [(p.pk, str(exc)) for p, _ in pairs]
                continue
            for participant, assignment in pairs:
                amount = Decimal(amounts_cents[participant]) / 100
                try:
                    review.send_bonus(assignment=assignment, mturk=mturk, amount=amount, reason=reason, actor=actor)
                except FAILURES as exc:
                    result.failed.append((participant.pk, str(exc)))
                else:
                    result.done.append(participant.pk)
        return result

    def message(
        self, *, experiment: Experiment, participants: Sequence[Participant], subject: str, text: str, actor: str
    ) -> ChannelResult:
        by_mode, result = self._assignments(list(participants))
        for mode, pairs in sorted(by_mode.items()):
            try:
                mturk = open_mturk(mode=mode, confirm_live=True, actor=actor)  # a message moves no money
                failures = dict(
                    review.message_workers(
                        worker_ids=[a.worker_id for _, a in pairs], subject=subject, text=text, mturk=mturk, actor=actor
                    )
                )
            except FAILURES as exc:
                result.failed += [(p.pk, str(exc)) for p, _ in pairs]
                continue
            for participant, assignment in pairs:
                if assignment.worker_id in failures:
                    result.failed.append((participant.pk, failures[assignment.worker_id]))
                else:
                    result.done.append(participant.pk)
        return result

    def sync(self, *, experiment: Experiment, actor: str) -> str:
        """The experiment's published MTurk batches, per marketplace, synced and reconciled (as ``mturk_sync``)."""
        batches = list(HitBatch.objects.filter(study__experiment=experiment, state__in=ACTIVE_STATES).order_by("pk"))
        if not batches:
            return "no published batches"
        parts = []
        for mode in sorted({batch.mode for batch in batches}):
            mturk = open_mturk(mode=mode, confirm_live=True, actor=actor)  # reading moves no money
            of_mode = [batch for batch in batches if batch.mode == mode]
            summary = sync_and_reconcile(mturk=mturk, participants=default_participant_source(), batches=of_mode)
            found = sum(counts.get("assignments", 0) for counts in summary.batches.values())
            parts.append(f"{mode}: {len(of_mode)} batch(es), {found} assignment(s)")
        return "; ".join(parts)
