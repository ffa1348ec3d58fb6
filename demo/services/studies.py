"""The demo's four experiments, created once through the experiments services, and their invite links.

| slug               | kind       | design                                                                    |
|--------------------|------------|---------------------------------------------------------------------------|
| demo-fit-ratings   | rating     | Langlois: every clip x every excerpt, k = 3, bundles of 10 + 1 check      |
| demo-2afc          | afc        | V2M: every clip with up to 6 random excerpt pairs, k = 3, bundles of 10   |
| demo-preference    | preference | VM-NET: GR, GS, SR x V2M, M2V over the music videos' ground-truth pairs;  |
|                    |            | S from the stand-in search features; k = 6, bundles of 20 + 1 check       |

Idempotent: an experiment whose slug exists is never redesigned, reopened after a close, or given
more invite links (one that was designed but not yet opened is opened), so running the demo again
changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from annotation.models import Montage, MusicExcerpt, RenderState, VideoClip
from experiments.design.config import DesignError
from experiments.models import CatchStimulus, Experiment, ExperimentKind, ExperimentStatus, InviteLink
from experiments.services.designs import create_experiment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links, invite_token

INVITE_NOTE = "demo: for a person to try the worker flow"
AFC_ITEMS_PER_QUERY = 6


@dataclass(frozen=True)
class DemoStudy:
    slug: str
    experiment: Experiment | None
    created: bool = False
    problem: str = ""  # why the study could not be created (e.g. no ground-truth pairs)


@dataclass(frozen=True)
class Invite:
    token: str
    used: bool


def _all_ids(model) -> list[int]:
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


MONTAGE_PAIRS = [["S", "R"], ["S", "G"], ["S", "anti"], ["G", "R"], ["G", "anti"], ["R", "anti"]]


def demo_specs(*, features: Path | None) -> list[dict]:
    """The keyword arguments of ``create_experiment`` for each demo study, from the current library."""
    clips, excerpts = _all_ids(VideoClip), _all_ids(MusicExcerpt)
    n_option_pairs = len(excerpts) * (len(excerpts) - 1) // 2
    # Every demo study screens for headphones (Huggins pitch); the rating study also asks the questionnaire.
    screening = {"screening": {"headphones": "huggins"}}
    questionnaire = {
        "questionnaire": {
            "when": "after",
            "blocks": ["demographics", "device", "hearing", "musical_training", "comments"],
        }
    }
    specs = [
        {
            "slug": "demo-fit-ratings",
            "title": "How well do music and video fit?",
            "kind": ExperimentKind.RATING,
            "config": {"clip_ids": clips, "excerpt_ids": excerpts, **screening, **questionnaire},
            "judgments_per_item": 3,
            "trials_per_assignment": 10,
        },
        {
            "slug": "demo-2afc",
            "title": "Which music fits the video better?",
            "kind": ExperimentKind.AFC,
            "config": {
                "clip_ids": clips,
                "excerpt_ids": excerpts,
                "directions": ["V2M"],
                "items_per_query": max(1, min(AFC_ITEMS_PER_QUERY, n_option_pairs)),
                **screening,
            },
            "judgments_per_item": 3,
            "trials_per_assignment": 10,
        },
        {
            "slug": "demo-preference",
            "title": "Which pairing fits better?",
            "kind": ExperimentKind.PREFERENCE,
            "config": {
                "directions": ["V2M", "M2V"],
                "conditions": ["GR", "GS", "SR"],
                "search": {"kind": "features", "path": str(features)} if features else None,
                **screening,
            },
            "judgments_per_item": 6,
            # Per query at most two of its three items fit one bundle (GR and GS share G, GS and SR
            # share S), so bundles of 20 hold most of a round: each subject answers ~20 questions.
            "trials_per_assignment": 20,
        },
        {
            "slug": "demo-montages",
            "title": "Which video fits the song better?",
            "kind": ExperimentKind.AFC,
            # Seed 004's montages judged by the crowd: every pair of the four kinds (S by the stand-in
            # model, R, anti, the song's own video G) for every song with montages (docs/montage.md).
            "config": {"montages": {"songs": "all", "pairs": MONTAGE_PAIRS}, **screening},
            "judgments_per_item": 6,
            "trials_per_assignment": 6,
        },
    ]
    return specs


def _wait_for_catch_stimuli(experiment: Experiment, *, timeout_s: float) -> None:
    """With a real broker the attention checks render in a worker; opening must wait for them."""
    deadline = time.monotonic() + timeout_s
    pending = CatchStimulus.objects.filter(experiment=experiment).exclude(state=RenderState.READY)
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def ensure_demo_studies(*, features: Path | None, seed: int, created_by=None, wait_s: float = 300) -> list[DemoStudy]:
    """Create and open the demo studies that do not exist yet; return all four.

    Each study is created and opened by the experiments services (design validation, catch
    stimuli rendered by their Celery task, open only when every pairing is rendered). A study the
    library cannot support (no music videos -> no ground-truth pairs) is reported, not raised.
    """
    studies = []
    for spec in demo_specs(features=features):
        experiment = Experiment.objects.filter(slug=spec["slug"]).first()
        created = experiment is None
        if created:
            if spec["kind"] == ExperimentKind.PREFERENCE and not spec["config"]["search"]:
                studies.append(DemoStudy(slug=spec["slug"], experiment=None, problem="no search features"))
                continue
            if "montages" in spec["config"] and not Montage.objects.filter(state=RenderState.READY).exists():
                studies.append(DemoStudy(slug=spec["slug"], experiment=None, problem="no ready montages"))
                continue
            try:
                # Not inside one transaction: the catch stimuli render after the design commits.
                experiment = create_experiment(
                    **spec, seed=seed, catch_trials_per_assignment=1, abandon_after_s=1800, created_by=created_by
                )
            except DesignError as exc:  # create_experiment is atomic: nothing was stored
                studies.append(DemoStudy(slug=spec["slug"], experiment=None, problem=str(exc)))
                continue
        problem = ""
        if experiment.status == ExperimentStatus.DESIGNED:  # new, or a run that stopped before opening
            _wait_for_catch_stimuli(experiment, timeout_s=wait_s)
            try:
                experiment = open_experiment(experiment=experiment)
            except DesignError as exc:
                problem = f"not opened: {exc}"
        studies.append(DemoStudy(slug=spec["slug"], experiment=experiment, created=created, problem=problem))
    return studies


def ensure_invite_links(*, experiment: Experiment, count: int) -> list[Invite]:
    """The demo's invite links of an experiment: ``count`` are created the first time, never more.

    Returns every demo link (used ones flagged), so a re-run prints the same unused links again.
    """
    links = list(InviteLink.objects.filter(experiment=experiment, note=INVITE_NOTE).order_by("pk"))
    if not links and count > 0 and experiment.status == ExperimentStatus.OPEN:
        links = [link for link, _ in create_invite_links(experiment=experiment, count=count, note=INVITE_NOTE)]
    return [Invite(token=invite_token(link), used=link.participant_id is not None) for link in links]
