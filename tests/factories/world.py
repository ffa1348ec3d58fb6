"""A populated platform for query-count tests: every table of the library and the experiments has rows.

``populate(n=..., tag=...)`` adds about ``n`` rows to each table (a library of ``n`` clips and excerpts,
an experiment designed on it with its items, bundles, trials and catch stimuli, ``n`` participants with
an assignment and an answer each, ``n`` invite links, an import batch of ``n`` files). Calling it twice
doubles the data: a page whose query count changes between the calls has an N+1.
"""

from __future__ import annotations

from annotation.models import ImportItem
from experiments.models import Experiment
from experiments.services.allocation import allocate_assignment
from experiments.services.lifecycle import open_experiment
from experiments.services.participants import create_invite_links, enter_via_mturk, redeem_invite
from tests.factories.annotation import ImportBatchFactory
from tests.factories.experiments import answer_trial, make_experiment, make_library


def populate(*, n: int, tag: str) -> Experiment:
    library = make_library(n_clips=n + 1, n_excerpts=n + 1, music_videos=1)  # bundles enough for 2n workers
    experiment = open_experiment(
        experiment=make_experiment(library=library, slug=f"study-{tag}", judgments_per_item=2, trials_per_assignment=4),
        allow_unrendered=True,
    )
    for i in range(n):
        participant = enter_via_mturk(experiment=experiment, worker_id=f"W{tag}{i}", assignment_id=f"A{tag}{i}")
        answer_trial(allocate_assignment(participant=participant), 0, rating=3)
    links = create_invite_links(experiment=experiment, count=n, note=tag)
    redeem_invite(token=links[0][1])  # one used invitation: a participant on the link
    batch = ImportBatchFactory(location=f"/tmp/library-{tag}")
    ImportItem.objects.bulk_create(
        [
            ImportItem(batch=batch, path=f"/tmp/library-{tag}/{i}.mp4", kind="video", outcome="rejected", reason="x")
            for i in range(n)
        ]
    )
    return experiment
