"""A montage preference study in headless Chromium: real (tiny, 10 fps) montages built by the montage
pipeline, a worker from an invite link through the entry steps to the last trial, nothing in what the
browser receives naming a montage's kind, model or id, and the export's montage_choices row per trial."""

from __future__ import annotations

import json

import pytest

from annotation.models import Montage, MontageKind, RenderState
from annotation.services.montages import MontageOptions
from annotation.services.scheduling import request_montages
from experiments.models import CatchStimulus, Response
from experiments.services.designs import create_experiment
from experiments.services.export import write_export
from experiments.services.lifecycle import open_experiment
from exportformat import read_export
from tests.experiments.test_answer_key import assert_clean, decode_media_payload
from tests.experiments.test_worker_browser import answer_trial, enter, wait_for_trial
from tests.support.montage import TEST_MODEL, make_montage_library

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def montage_study(tmp_path):
    library = make_montage_library(tmp_path, clips=8, song_s=3.0, music_video=True)
    request_montages(
        song=library.song, model=TEST_MODEL, options=MontageOptions(segments="fixed:1.5", max_segment_s=2.0, fps=10)
    )
    montages = Montage.objects.filter(song=library.song)
    assert {m.kind for m in montages} == {"G", "S", "R", "anti"}
    assert all(m.state == RenderState.READY for m in montages), [(m.kind, m.error) for m in montages]
    experiment = create_experiment(
        slug="montages",
        title="Montages",
        kind="afc",
        config={"montages": {"songs": [library.song.pk], "pairs": [["S", "R"], ["G", "anti"]]}},
        seed=5,
        judgments_per_item=1,
        trials_per_assignment=2,
        catch_trials_per_assignment=1,
    )
    assert all(c.state == RenderState.READY for c in CatchStimulus.objects.filter(experiment=experiment))
    return open_experiment(experiment=experiment), montages


def test_a_worker_completes_a_montage_preference_study_and_the_export_has_a_row_per_trial(
    page, live_server, tmp_path, settings
):
    experiment, montages = montage_study(tmp_path)
    forbidden = {TEST_MODEL, "test-embeddings", *(m.file.name for m in montages)}
    seen: list[tuple[str, str, str]] = []

    def record(route):
        response = route.fetch(max_redirects=0)
        kind = response.headers.get("content-type", "")
        if "html" in kind or "json" in kind:
            seen.append((route.request.url, kind, response.text()))
        route.fulfill(response=response)

    page.route("**/*", record)
    participant = enter(page, live_server, experiment)
    assignment = participant.assignments.get()
    assert assignment.n_trials == 3 and page.locator("figure.option").count() == 2
    assert page.locator(".prompt").first.inner_text() == "Which video fits the song better?"
    for _ in range(assignment.n_trials):
        position, _ = answer_trial(page, participant, "ArrowLeft")
        if position < assignment.n_trials - 1:
            wait_for_trial(page, position + 1)
    page.get_by_test_id("done").wait_for()
    page.unroute_all(behavior="ignoreErrors")

    # Nothing the browser received names a kind, a model, a strategy or a file; media URLs are sealed
    # and name only (assignment, position, slot).
    urls = 0
    for url, _kind, text in seen:
        assert_clean(text, forbidden=forbidden)
        for word in ("anti", "nearest", "farthest", "original", "montage_id", "provenance"):
            assert word not in text.lower(), (word, url)
        if "/api/trials/" in url:
            for media in json.loads(text)["media"]:
                assert set(decode_media_payload(media["url"])) == {"t", "p", "s"}
                urls += 1
    assert urls >= 4

    stored = Response.objects.filter(assignment=assignment)
    assert stored.count() == 3 and stored.get(is_catch=True).catch_passed is True
    assert all(r.play_count >= 2 for r in stored)  # both videos played

    write_export(experiments=[experiment], out_dir=tmp_path / "export", parquet=False)
    export = read_export(tmp_path / "export", verify=True)
    rows = export.montage_choices
    assert len(rows) == assignment.n_trials
    real = rows[~rows["is_catch"]]
    assert (real["chosen_side"] == "left").all() and (real["chosen_montage_id"] == real["left_montage_id"]).all()
    pairs = {frozenset(p) for p in zip(real["left_kind"], real["right_kind"], strict=True)}
    assert pairs == {frozenset(("S", "R")), frozenset((MontageKind.ORIGINAL, MontageKind.ANTI))}
    assert set(export.montages["montage_id"]) == {m.pk for m in montages}
