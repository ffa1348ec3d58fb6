"""Factories for experiments: a small stimulus library and experiments designed by the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from annotation.models import MusicExcerpt, VideoClip
from experiments.answer_input import presentation_token
from experiments.models import Assignment, Experiment
from experiments.services.answers import AnswerInput, assignment_ref, record_answer
from experiments.services.designs import create_experiment
from tests.factories.annotation import MusicExcerptFactory, MusicTrackFactory, VideoClipFactory, VideoFactory


@dataclass
class Library:
    clips: list[VideoClip]
    excerpts: list[MusicExcerpt]

    @property
    def clip_ids(self) -> list[int]:
        return [c.pk for c in self.clips]

    @property
    def excerpt_ids(self) -> list[int]:
        return [e.pk for e in self.excerpts]


def make_library(*, n_clips: int, n_excerpts: int, music_videos: int = 0, duration_s: float = 5.0) -> Library:
    """``n_clips`` clips of distinct videos and ``n_excerpts`` excerpts of distinct tracks.

    The first ``music_videos`` clips come from music videos: their video has a soundtrack whose excerpt
    (one of the ``n_excerpts``) is the clip's ground truth (a G pair).
    """
    clips, excerpts = [], []
    for _ in range(n_clips):
        clips.append(VideoClipFactory(video=VideoFactory(), start_s=0.0, duration_s=duration_s))
    for i in range(n_excerpts):
        if i < music_videos:
            track = MusicTrackFactory(source_video=clips[i].video)
            excerpts.append(
                MusicExcerptFactory(track=track, start_s=0.0, duration_s=duration_s, ground_truth_clip=clips[i])
            )
        else:
            excerpts.append(MusicExcerptFactory(track=MusicTrackFactory(), start_s=0.0, duration_s=duration_s))
    return Library(clips=clips, excerpts=excerpts)


def make_experiment(
    *, kind: str = "rating", library: Library | None = None, slug: str = "study", **kwargs
) -> Experiment:
    library = library or make_library(n_clips=4, n_excerpts=3)
    config = kwargs.pop("config", None)
    if config is None:
        config = {"clip_ids": library.clip_ids, "excerpt_ids": library.excerpt_ids}
    kwargs.setdefault("seed", 1234)
    kwargs.setdefault("title", slug)
    return create_experiment(slug=slug, kind=kind, config=config, **kwargs)


def answer_trial(assignment: Assignment, position: int, **answer):
    """Store one answer through the service the worker API uses, with a fresh idempotency key.

    ``answer``: ``rating=`` or ``chosen_side=``, plus optional ``rt_ms``, ``play_count``, ... The trial
    counts as served (its presentation token is minted here, as a trial fetch would).
    """
    return record_answer(
        participant=assignment.participant,
        answer=AnswerInput(
            idempotency_key=uuid.uuid4().hex,
            assignment_ref=assignment_ref(assignment),
            position=position,
            **{"presentation": presentation_token(assignment_id=assignment.pk, position=position), **answer},
        ),
    )
