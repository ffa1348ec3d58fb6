"""Prolific behind the recruiter interface (``experiments.recruiters``): bonuses as one bulk bonus per study
and key (paid once, under the study's spending cap) and messages, through ``prolific_services``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from experiments.models import Experiment, Participant, ParticipantSource
from experiments.recruiters import ChannelResult
from recruitment import prolific_services
from recruitment.models import ProlificEntry, ProlificStudy
from recruitment.prolific_client import ProlificError


def _pid(participant: Participant) -> str:
    return participant.worker_id.removeprefix("prolific:")


class ProlificRecruiter:
    channel = ParticipantSource.PROLIFIC
    label = "Prolific"

    @staticmethod
    def _by_study(participants) -> tuple[dict, ChannelResult]:
        """Participants grouped by the Prolific study they came from; a study registered by hand (no API
        study id known to us as ours) cannot be paid from here."""
        result = ChannelResult()
        entries = ProlificEntry.objects.select_related("study").filter(participant__in=participants)
        study_of = {e.participant_id: e.study for e in entries}
        groups: dict[int, tuple] = {}
        for p in participants:
            study = study_of.get(p.pk)
            if study is None or not study.study_id:
                result.failed.append((p.pk, "no Prolific study of ours to pay through"))
                continue
            groups.setdefault(study.pk, (study, []))[1].append(p)
        return groups, result

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
        groups, result = self._by_study(list(amounts_cents))
        for study, participants in groups.values():
            try:
                with prolific_services.client() as api:
                    prolific_services.pay_bonuses(
                        study=study, api=api, amounts_cents={_pid(p): amounts_cents[p] for p in participants}, key=key
                    )
            except ProlificError as exc:
                result.failed += [(p.pk, str(exc)) for p in participants]
            else:
                result.done += [p.pk for p in participants]
        return result

    def message(
        self, *, experiment: Experiment, participants: Sequence[Participant], subject: str, text: str, actor: str
    ) -> ChannelResult:
        groups, result = self._by_study(list(participants))
        body = f"{subject}\n\n{text}" if subject else text
        for study, members in groups.values():
            try:
                with prolific_services.client() as api:
                    for p in members:
                        prolific_services.message(study=study, api=api, prolific_pid=_pid(p), body=body)
                        result.done.append(p.pk)
            except ProlificError as exc:
                result.failed += [(p.pk, str(exc)) for p in members if p.pk not in result.done]
        return result

    def sync(self, *, experiment: Experiment, actor: str) -> str:
        """Submissions of the experiment's Prolific studies created through the API (as ``prolific sync``)."""
        studies = list(ProlificStudy.objects.filter(experiment=experiment).exclude(study_id="").order_by("pk"))
        if not studies:
            return "no Prolific studies"
        with prolific_services.client() as api:
            seen = sum(prolific_services.sync_submissions(study=study, api=api) for study in studies)
        return f"{len(studies)} study(ies), {seen} submission(s)"
