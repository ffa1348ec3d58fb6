"""A simulated crowd that answers the demo's experiments through the worker services.

Each simulated worker is a participant marked ``is_simulated`` (its ``worker_id``, ``sim:<slug>-NN``,
is a readable label only). It goes through the same services the worker pages and the worker JSON
API call: consent (``record_consent``), the audio check (``issue_audio_check`` / ``answer_audio_check``: it "hears" the sound it was
given), allocation (``allocate_assignment``), the trial lookup of the runner (``trial_for``) and
answer submission with a fresh idempotency key per answer (``record_answer``; the first answer of
every assignment is sent twice, as a browser whose acknowledgement was lost would, and must come
back as a replay). The database constraints and the allocator therefore hold for simulated answers
exactly as for real ones.

Latent model (what a simulated worker likes), for ratings and 2AFC choices:

    fit(clip, excerpt) = -|energy(clip) - energy(excerpt)| + 0.5 * [excerpt is the clip's own soundtrack]

with the energies of :mod:`demo.services.features` (busy video <-> bright, lively music) and a
bonus for a music video's own picture and sound. The worker population is the one of
``analysis.simulate`` (its ``SimulationConfig``, here with bias sd 0.5 and one careless worker in
ten): worker w has a bias b_w ~ N(0, worker_bias_sd) and a sensitivity s_w ~ logN(0, worker_scale_sd):

    rating  = clip(round(4 + b_w + 4 * s_w * (fit + 1/3) + N(0, 0.8)), 1, 7)       (mean fit is -1/3)
    P(first option chosen, 2AFC) = logistic(3.3 * s_w * (fit(first) - fit(second)))

The VM-NET preference test uses ``analysis.simulate``'s subject model as it is:
P(first kind chosen | condition c) = ``draw_subject_probabilities`` (median p_GR 0.82, p_GS 0.65,
p_SR 0.73, subject sd 0.5), one draw per worker and condition, so the planted truth the report
checks (``p_first_expected`` = ``expected_pooled_share``) is the simulator's own. The demo's
S > R is therefore planted and demonstrates the pipeline, not a finding. Careless workers answer at
random in 120-280 ms and pass attention checks at chance; attentive workers answer in ~1.8 s
(log-normal) and pass ``catch_pass_attentive`` (97 %) of them.

The crowd fills all bundles except those of the last replica round (each item's k-th judgment),
which stay open for people following the printed invite links.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone
from scipy.special import expit
from tqdm.auto import tqdm

from analysis.simulate import SimulationConfig, draw_subject_probabilities, expected_pooled_share
from annotation.models import Montage, MontageKind, MusicExcerpt
from demo.selectors import simulated_participants
from demo.services import SIMULATED_WORKER_PREFIX
from demo.services.features import StandInFeatures
from demo.services.montage_scorer import MODEL_NAME as STAND_IN_MODEL
from demo.services.montage_scorer import fit_from_distance
from experiments.answer_input import presentation_token
from experiments.media.soundcheck import KINDS
from experiments.models import (
    Assignment,
    AssignmentStatus,
    Bundle,
    BundleStatus,
    Experiment,
    ExperimentKind,
    ExperimentStatus,
    Participant,
    ParticipantSource,
    Side,
    Trial,
)
from experiments.selectors.questionnaire import questionnaire_for
from experiments.selectors.worker import trial_for, unanswered_positions
from experiments.services import screening
from experiments.services.allocation import AllocationError, allocate_assignment
from experiments.services.answers import AnswerInput, assignment_ref, record_answer
from experiments.services.participants import answer_audio_check, issue_audio_check, record_consent
from experiments.services.questionnaire import submit_questionnaire
from mvfit_common.files import atomic_write_text

# analysis.simulate's worker population, with the demo's small crowd's numbers.
POPULATION = SimulationConfig(worker_bias_sd=0.5, careless_share=0.1)
PREFERENCE_CONDITIONS = tuple(POPULATION.preference)  # GR, GS, SR
PLAY_SECONDS = 5.0  # a trial's media play through before the reaction time starts


@dataclass(frozen=True)
class LatentTaste:
    """What the simulated workers like (see the module docstring)."""

    features: StandInFeatures
    ground_truth: dict[int, int]  # excerpt id -> clip id of the same music-video span
    gt_bonus: float = 0.5
    choice_sensitivity: float = 3.3
    rating_gain: float = 4.0
    rating_noise_sd: float = 0.8

    def fit(self, clip_id: int, excerpt_id: int) -> float:
        # An item the features do not know (media added after they were computed) sits mid-scale.
        clip = self.features.clip_energy.get(clip_id, 0.5)
        excerpt = self.features.excerpt_energy.get(excerpt_id, 0.5)
        bonus = self.gt_bonus if self.ground_truth.get(excerpt_id) == clip_id else 0.0
        return -abs(clip - excerpt) + bonus

    def montage_fit(self, montage: Montage) -> float:
        """A whole-song montage's fit: the duration-weighted mean of its segments' fits.

        A segment's fit is ``-|energy(segment) - energy(clip)|`` (recovered from the stand-in's distance in
        the provenance; montages by another model are judged by the stand-in's own view of their clips:
        the segment takes the energy of the song's excerpt); the song's own music video (G) has the fit
        of its ground-truth pair, own-soundtrack bonus included.
        """
        if montage.kind == MontageKind.ORIGINAL:
            pairs = [
                (clip, excerpt)
                for excerpt, clip in self.ground_truth.items()
                if excerpt in self._song_excerpts(montage)
            ]
            return float(np.mean([self.fit(clip, excerpt) for clip, excerpt in pairs])) if pairs else self.gt_bonus
        segments = (montage.provenance or {}).get("segments") or []
        if not segments:
            return -0.5
        weights = np.array([s["end_s"] - s["start_s"] for s in segments])
        if montage.model == STAND_IN_MODEL:
            fits = fit_from_distance(np.array([s["distance"] for s in segments]))
        else:
            excerpts = self._song_excerpts(montage)
            song = np.mean([self.features.excerpt_energy.get(e, 0.5) for e in excerpts]) if excerpts else 0.5
            fits = np.array([-abs(self.features.clip_energy.get(s["clip_id"], 0.5) - song) for s in segments])
        return float(np.average(fits, weights=weights))

    def _song_excerpts(self, montage: Montage) -> list[int]:
        return list(MusicExcerpt.objects.filter(track_id=montage.song_id).values_list("pk", flat=True))


@dataclass(frozen=True)
class SimulatedWorker:
    worker_id: str
    bias: float
    sensitivity: float
    careless: bool
    # P(first kind chosen) per preference condition (analysis.simulate's subject model)
    preference: dict[str, float] = field(default_factory=dict)


@dataclass
class CrowdOutcome:
    slug: str
    workers: list[SimulatedWorker] = field(default_factory=list)
    assignments: int = 0
    answers: int = 0
    replays: int = 0  # re-sent answers the server acknowledged without storing them again
    bundles_left: int = 0
    # (direction, condition) -> the model's P(first option) of every answered preference trial
    p_first: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))


def draw_workers(
    *, slug: str, count: int, rng: np.random.Generator, population: SimulationConfig = POPULATION
) -> list[SimulatedWorker]:
    careless = set(rng.permutation(count)[: round(count * population.careless_share)].tolist())
    preference = {
        condition: draw_subject_probabilities(rng, p, population.subject_sd, count)
        for condition, p in population.preference.items()
    }
    return [
        SimulatedWorker(
            worker_id=f"{SIMULATED_WORKER_PREFIX}{slug}-{i + 1:02d}",
            bias=float(rng.normal(0, population.worker_bias_sd)),
            sensitivity=float(rng.lognormal(0, population.worker_scale_sd)),
            careless=i in careless,
            preference={condition: round(float(p[i]), 6) for condition, p in preference.items()},
        )
        for i in range(count)
    ]


@transaction.atomic
def enter_simulated_participant(*, experiment: Experiment, worker_id: str) -> Participant:
    """A simulated participant (created once per worker id, marked ``is_simulated``), entering like an
    invite-link participant. The ``sim:`` namespace keeps its label apart from MTurk and invite-link ids."""
    if not worker_id.startswith(SIMULATED_WORKER_PREFIX):
        raise ValueError(f"simulated worker ids must start with {SIMULATED_WORKER_PREFIX!r}, not {worker_id!r}.")
    if experiment.status != ExperimentStatus.OPEN:
        raise ValueError(f"experiment {experiment.slug} is {experiment.status}, not open.")
    participant, _ = Participant.objects.get_or_create(
        experiment=experiment,
        worker_id=worker_id,
        assignment_id="",
        defaults={
            "source": ParticipantSource.LINK,
            "token": secrets.token_urlsafe(32),
            "user_agent": "mvfit demo simulated crowd",
            "is_simulated": True,
        },
    )
    if not participant.is_simulated:
        raise ValueError(f"{worker_id!r} is a real participant of {experiment.slug}, not a simulated one.")
    return participant


def _pass_entry_checks(participant: Participant) -> None:
    """Consent, the sound check and the headphone screen through the real services; a simulated worker
    "hears" each sound (it is given the answer the server keeps)."""
    record_consent(participant=participant)
    attempt = issue_audio_check(participant=participant)
    if attempt is not None:  # None: passed on an earlier run
        heard = KINDS[attempt.kind].form_for(attempt.expected)
        if not answer_audio_check(participant=participant, attempt_number=attempt.number, answer=heard).passed:
            raise RuntimeError(f"{participant.worker_id} failed the audio check it was given the answer to.")
    while (trial := screening.issue_headphone_trial(participant=participant)) is not None:
        screening.answer_headphone_trial(
            participant=participant, test=trial.test, number=trial.number, answer=str(trial.expected)
        )
    participant.refresh_from_db()
    if participant.screened_out_at is not None:
        raise RuntimeError(f"{participant.worker_id} failed the headphone screen it was given the answers to.")


def _answer_questionnaire(participant: Participant, rng: np.random.Generator) -> None:
    """A simulated worker's questionnaire: a random answer to every item (optional text left empty)."""
    definition = questionnaire_for(participant)
    if definition is None:
        return
    form = {}
    for item in definition.items:
        if item.type == "choice":
            form[item.key] = item.options[int(rng.integers(len(item.options)))]
        elif item.type in ("likert", "number"):
            form[item.key] = str(int(rng.integers(item.minimum, item.maximum + 1)))
        elif item.required:
            form[item.key] = "fine"
    problems = submit_questionnaire(participant=participant, form=form)
    if problems:
        raise RuntimeError(f"{participant.worker_id}'s questionnaire was refused: {problems}")


class _Answerer:
    def __init__(self, *, experiment: Experiment, taste: LatentTaste, rng: np.random.Generator) -> None:
        self.experiment = experiment
        self.taste = taste
        self.rng = rng
        self._montage_fits: dict[int, float] = {}

    def montage_fit(self, montage) -> float:
        if montage.pk not in self._montage_fits:
            self._montage_fits[montage.pk] = self.taste.montage_fit(montage)
        return self._montage_fits[montage.pk]

    def rt_ms(self, worker: SimulatedWorker) -> int:
        if worker.careless:
            return int(self.rng.integers(120, 281))
        return int(max(400.0, self.rng.lognormal(math.log(1800), 0.5)))

    def rating(self, worker: SimulatedWorker, trial: Trial) -> int:
        if trial.catch_id:
            attentive = not worker.careless and self.rng.random() < POPULATION.catch_pass_attentive
            return trial.catch.expected_rating if attentive else int(self.rng.integers(1, 8))
        if worker.careless:
            return int(self.rng.integers(1, 8))
        item = trial.item
        if item.montage_id:
            fit = self.montage_fit(item.montage)
        else:
            fit = self.taste.fit(item.pairing.clip_id, item.pairing.excerpt_id)
        latent = (
            4
            + worker.bias
            + self.taste.rating_gain * worker.sensitivity * (fit + 1 / 3)
            + self.rng.normal(0, self.taste.rating_noise_sd)
        )
        return int(min(7, max(1, round(latent))))

    def choice(self, worker: SimulatedWorker, trial: Trial) -> tuple[str, float | None]:
        """(chosen side, the model's P(first option)) -- P is None for attention checks."""
        first_side, second_side = (Side.LEFT, Side.RIGHT) if trial.first_on_left else (Side.RIGHT, Side.LEFT)
        if trial.catch_id:
            # In a choice check the option to choose is the "first" one.
            attentive = not worker.careless and self.rng.random() < POPULATION.catch_pass_attentive
            return (first_side if attentive else (first_side if self.rng.random() < 0.5 else second_side)), None
        item = trial.item
        if worker.careless:
            p_first = 0.5
        elif self.experiment.kind == ExperimentKind.PREFERENCE and item.condition in worker.preference:
            p_first = worker.preference[item.condition]
        elif item.first_montage_id:
            difference = self.montage_fit(item.first_montage) - self.montage_fit(item.second_montage)
            p_first = float(expit(self.taste.choice_sensitivity * worker.sensitivity * difference))
        else:
            first, second = item.first_pairing, item.second_pairing
            difference = self.taste.fit(first.clip_id, first.excerpt_id) - self.taste.fit(
                second.clip_id, second.excerpt_id
            )
            p_first = float(expit(self.taste.choice_sensitivity * worker.sensitivity * difference))
        return (first_side if self.rng.random() < p_first else second_side), p_first

    def answer_assignment(self, worker: SimulatedWorker, participant: Participant, assignment: Assignment, outcome):
        handle = assignment_ref(assignment)
        for index, position in enumerate(unanswered_positions(assignment)):
            trial = trial_for(assignment.bundle_id, position)
            rating, side, p_first = None, "", None
            if self.experiment.is_choice:
                side, p_first = self.choice(worker, trial)
            else:
                rating = self.rating(worker, trial)
            rt = self.rt_ms(worker)
            answered_at = timezone.now()
            answer = AnswerInput(
                idempotency_key=f"sim-{uuid.uuid4().hex}",
                assignment_ref=handle,
                position=position,
                rating=rating,
                chosen_side=side,
                rt_ms=rt,
                play_count=1,
                presented_at=answered_at - timedelta(milliseconds=rt, seconds=PLAY_SECONDS),
                answered_at=answered_at,
                presentation=presentation_token(assignment_id=assignment.pk, position=position),  # as a fetch would
            )
            record_answer(participant=participant, answer=answer)
            outcome.answers += 1
            if index == 0:  # the acknowledgement "got lost": the client sends the same answer again
                if not record_answer(participant=participant, answer=answer).replayed:
                    raise RuntimeError("a re-sent answer was stored twice")
                outcome.replays += 1
            if p_first is not None and not worker.careless and trial.item.condition in PREFERENCE_CONDITIONS:
                outcome.p_first[(trial.item.direction, trial.item.condition)].append(p_first)


def simulate_crowd(
    *, experiment: Experiment, taste: LatentTaste, workers: int, seed: int, progress: bool = True
) -> CrowdOutcome:
    """Let ``workers`` simulated workers take turns completing bundles until only the last round is left.

    Idempotent per experiment: if simulated participants exist already, nothing happens (the
    returned outcome then has no workers).
    """
    outcome = CrowdOutcome(slug=experiment.slug)
    if workers < 1 or experiment.status != ExperimentStatus.OPEN or simulated_participants(experiment).exists():
        return outcome
    rng = np.random.default_rng([seed, experiment.pk])
    outcome.workers = draw_workers(slug=experiment.slug, count=workers, rng=rng)
    bundles = Bundle.objects.filter(experiment=experiment)
    last_round = experiment.judgments_per_item - 1
    reserved = bundles.filter(round=last_round).count() if last_round > 0 else 0
    target = bundles.count() - reserved
    answerer = _Answerer(experiment=experiment, taste=taste, rng=rng)
    entered = []
    for worker in outcome.workers:
        participant = enter_simulated_participant(experiment=experiment, worker_id=worker.worker_id)
        _pass_entry_checks(participant)
        entered.append((worker, participant))

    def completed() -> int:
        return bundles.filter(status=BundleStatus.COMPLETED).count()

    bar = tqdm(total=target, desc=f"crowd: {experiment.slug}", unit="bundle", disable=not progress, leave=False)
    done = completed()
    bar.update(done)
    active = list(entered)
    while active and done < target:
        still_active = []
        for worker, participant in active:
            if done >= target:
                break
            try:
                assignment = allocate_assignment(participant=participant)
            except AllocationError:
                continue  # nothing left this worker has not seen: they are done
            answerer.answer_assignment(worker, participant, assignment, outcome)
            assignment.refresh_from_db(fields=["status"])
            if assignment.status != AssignmentStatus.COMPLETED:
                raise RuntimeError(f"simulated assignment {assignment.pk} did not complete")
            outcome.assignments += 1
            done = completed()
            bar.n = done
            bar.refresh()
            still_active.append((worker, participant))
        active = still_active
    bar.close()
    for _, participant in entered:
        if participant.assignments.filter(status=AssignmentStatus.COMPLETED).exists():
            _answer_questionnaire(participant, rng)
    outcome.bundles_left = bundles.filter(status=BundleStatus.AVAILABLE).count()
    return outcome


def crowd_record(*, taste: LatentTaste, outcomes: list[CrowdOutcome], seed: int) -> dict:
    """What the crowd was (raw ``sim:`` ids, latent parameters, model shares), for ``crowd.json``."""
    p_first: dict[str, list[float]] = defaultdict(list)
    for o in outcomes:
        for (_, condition), values in o.p_first.items():
            p_first[condition].extend(values)
    return {
        "generator": "mvfit demo simulated crowd (demo/services/crowd.py)",
        "model": {
            "fit": "-|energy(clip) - energy(excerpt)| + gt_bonus * [excerpt is the clip's own soundtrack]",
            "rating": "clip(round(4 + bias + rating_gain * sensitivity * (fit + 1/3) + N(0, rating_noise_sd)), 1, 7)",
            "choice": "P(first) = logistic(choice_sensitivity * sensitivity * (fit(first) - fit(second)))",
            "preference": "P(first kind | condition) = analysis.simulate.draw_subject_probabilities per worker",
            "careless_share": POPULATION.careless_share,
            "worker_bias_sd": POPULATION.worker_bias_sd,
            "worker_scale_sd": POPULATION.worker_scale_sd,
            "catch_pass_attentive": POPULATION.catch_pass_attentive,
            "p_first_median_subject": POPULATION.preference,
            "subject_sd": POPULATION.subject_sd,
            "gt_bonus": taste.gt_bonus,
            "choice_sensitivity": taste.choice_sensitivity,
            "rating_gain": taste.rating_gain,
            "rating_noise_sd": taste.rating_noise_sd,
            "energies": "demo/services/features.py (stand-in search features)",
        },
        "seed": seed,
        "experiments": {
            o.slug: {
                "workers": [asdict(w) for w in o.workers],
                "assignments": o.assignments,
                "answers": o.answers,
                "replays": o.replays,
                "bundles_left": o.bundles_left,
            }
            for o in outcomes
        },
        # Mean model P(first option) over the attentive workers' answered preference trials (realised), and
        # the population's pooled share the subject model implies (expected; analysis.simulate's truth).
        "p_first_model": {c: round(float(np.mean(v)), 4) for c, v in sorted(p_first.items())},
        "p_first_expected": {
            c: round(expected_pooled_share(POPULATION.preference[c], POPULATION.subject_sd), 4) for c in sorted(p_first)
        },
    }


def save_crowd_record(path: Path, record: dict) -> None:
    """Write ``crowd.json`` atomically, keeping the experiments an earlier run simulated."""
    if path.is_file():
        previous = json.loads(path.read_text())
        record = {
            **record,
            "experiments": {**previous.get("experiments", {}), **record["experiments"]},
            "p_first_model": record["p_first_model"] or previous.get("p_first_model", {}),
            "p_first_expected": record.get("p_first_expected") or previous.get("p_first_expected", {}),
        }
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
