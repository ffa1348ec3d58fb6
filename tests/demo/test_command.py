"""The demo command end to end (without starting the server) on a tiny synthetic library:
library, experiments, invite links, simulated crowd, export, report -- and a second run that changes nothing."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client

from annotation.models import Montage, MusicExcerpt, MusicTrack, Pairing, RenderState, Video
from demo.services import demo_paths
from demo.services.features import load_stand_in_features
from experiments.models import Experiment, ExperimentStatus, InviteLink, Item, Participant, Response
from experiments.services import participants

# Transactional: the demo's tasks are dispatched on commit, as in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SLUGS = ["demo-fit-ratings", "demo-2afc", "demo-preference", "demo-montages"]


@pytest.fixture
def quick_static(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"  # the synthetic library and data/demo are written in here
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def demo(**options) -> str:
    out = io.StringIO()
    call_command(
        "demo",
        no_serve=True,
        synthetic=True,
        videos=2,
        tracks=2,
        music_videos=3,
        media_seconds=3.0,
        excerpt_seconds=1.0,
        simulate_crowd=4,
        invites=2,
        stdout=out,
        verbosity=0,
        **options,
    )
    return out.getvalue()


def rows(path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_demo_shows_the_whole_platform_and_a_second_run_changes_nothing(quick_static, monkeypatch):
    monkeypatch.setenv("MVFIT_DEMO_PASSWORD", "demo-secret-123")
    output = demo(port=8123)

    # The library: 2 videos + 3 music videos, 2 tracks + 3 soundtracks, every pairing rendered.
    assert authenticate(username="experimenter", password="demo-secret-123").is_staff
    assert "as  experimenter  with password  demo-secret-123" in output
    assert Video.objects.count() == 5
    assert MusicTrack.objects.filter(source_video__isnull=False).count() == 3
    assert MusicExcerpt.objects.filter(ground_truth_clip__isnull=False).count() == 3
    assert Pairing.objects.count() == 5 * 5
    assert set(Pairing.objects.values_list("state", flat=True)) == {RenderState.READY}

    # Montages: every music video's song cut by the stand-in (S), random (R) and farthest (anti) clips,
    # and its own video (G) -- built by the platform's montage service.
    montages = Montage.objects.all()
    assert montages.count() == 3 * 4 and {m.state for m in montages} == {RenderState.READY}, [
        (m.kind, m.error) for m in montages
    ]
    assert {m.model for m in montages if m.kind != "G"} == {"stand-in@energy-v1"}
    for montage in montages.exclude(kind="G"):
        segments = montage.provenance["segments"]
        assert len({s["clip_id"] for s in segments}) == len(segments)
        assert montage.song.source_video_id not in {s["source_video_id"] for s in segments}

    # Three open experiments, made by the services.
    experiments = {e.slug: e for e in Experiment.objects.all()}
    assert sorted(experiments) == sorted(SLUGS)
    assert {e.status for e in experiments.values()} == {ExperimentStatus.OPEN}
    assert experiments["demo-fit-ratings"].items.count() == 25  # every clip x every excerpt
    assert set(Item.objects.filter(experiment=experiments["demo-preference"]).values_list("condition", flat=True)) == {
        "GR",
        "GS",
        "SR",
    }

    # S is the candidate whose stand-in energy is closest to the query's (never the ground truth).
    paths = demo_paths()
    features = load_stand_in_features(paths.features)
    for item in Item.objects.filter(experiment=experiments["demo-preference"], condition="GS", direction="V2M"):
        clip = item.query_clip_id
        s_excerpt = item.second_pairing.excerpt_id
        candidates = [
            e
            for e in MusicExcerpt.objects.filter(ground_truth_clip__isnull=False).values_list("pk", flat=True)
            if e != item.first_pairing.excerpt_id
        ]
        best = max(features.similarity(clip, e) for e in candidates)
        assert features.similarity(clip, s_excerpt) == pytest.approx(best)
        assert item.search_source.startswith("features:") and item.search_source.endswith("@stand-in:energy-v1")

    # Simulated answers through the services, clearly marked, with the last round left open.
    simulated = Participant.objects.filter(is_simulated=True)
    assert simulated.count() == 4 * 4 and Participant.objects.count() == simulated.count()
    assert Response.objects.filter(assignment__experiment=experiments["demo-fit-ratings"]).count() > 0
    assert Response.objects.filter(assignment__experiment=experiments["demo-preference"]).count() > 0
    assert Response.objects.filter(assignment__experiment=experiments["demo-montages"]).count() > 0
    for experiment in experiments.values():
        assert experiment.bundles.filter(status="available").exists(), experiment.slug

    # Invite links: printed, and a visit leads to the consent page of that study.
    links = re.findall(r"http://127\.0\.0\.1:8123(/w/invite/\S+/)", output)
    assert len(links) == 4 * 2 and InviteLink.objects.count() == 8
    worker = Client()
    consent = worker.get(links[0], follow=True)
    assert consent.status_code == 200
    assert 'name="agree"' in consent.content.decode()

    # Export with rows, marked as simulated; report written and served to staff only.
    assert len(rows(paths.export / "ratings.csv")) > 0 and len(rows(paths.export / "choices.csv")) > 0
    assert len(rows(paths.export / "montage_choices.csv")) > 0 and len(rows(paths.export / "montages.csv")) == 3 * 4
    manifest = json.loads((paths.export / "manifest.json").read_text())
    exported_workers = {r["worker_id"] for name in ("ratings", "choices") for r in rows(paths.export / f"{name}.csv")}
    assert exported_workers <= set(manifest["simulation"]["simulated_workers"])
    entries = rows(paths.export / "participants.csv")
    assert len(entries) == 4 * 4 and {e["simulated"] for e in entries} == {"true"}
    # Screening on: every simulated worker went through the headphone screen (real services), and the
    # rating study's questionnaire was answered by those who completed an assignment there.
    assert {e["headphone_screen"] for e in entries} == {"passed"}
    assert len(rows(paths.export / "headphone_trials.csv")) == 4 * 4 * 6
    assert {r["item"] for r in rows(paths.export / "questionnaire.csv")} >= {"listening_device", "gmsi_mt_1"}
    assert paths.report_html.is_file()
    assert "http://127.0.0.1:8123/reports/demo/" in output
    assert Client().get("/reports/demo/").status_code == 302  # to the login page
    staff = Client()
    staff.login(username="experimenter", password="demo-secret-123")
    page = staff.get("/reports/demo/")
    html = b"".join(page.streaming_content)
    assert page.status_code == 200 and b"Preference test" in html
    assert b"Montages" in html  # the crowd's judgments of the montages, model vs baselines
    assert b"<h2>Participants</h2>" in html and b'id="fig-participants"' in html
    progress = staff.get(f"/experiments/{experiments['demo-2afc'].pk}/").content.decode()
    assert "(4 simulated)" in progress  # the experiment page counts the simulated participants apart
    library = staff.get("/library/?kind=pairings").content.decode()
    url = re.search(r'<video controls preload="none" src="([^"]+)"', library)[1]
    assert staff.get(url).status_code == 200

    # Again, without a password in the environment: nothing changes, a new password is printed.
    monkeypatch.delenv("MVFIT_DEMO_PASSWORD")
    before = {
        "experiments": list(Experiment.objects.values_list("pk", "status", "seed")),
        "participants": Participant.objects.count(),
        "responses": Response.objects.count(),
        "links": list(InviteLink.objects.values_list("pk", "nonce")),
        "rendered": dict(Pairing.objects.values_list("pk", "rendered_at")),
    }
    report_written = paths.report_html.stat().st_mtime_ns
    again = demo(port=8123)

    assert {
        "experiments": list(Experiment.objects.values_list("pk", "status", "seed")),
        "participants": Participant.objects.count(),
        "responses": Response.objects.count(),
        "links": list(InviteLink.objects.values_list("pk", "nonce")),
        "rendered": dict(Pairing.objects.values_list("pk", "rendered_at")),
    } == before
    assert paths.report_html.stat().st_mtime_ns == report_written  # no new answers: report kept
    # The same unused links (sealed again, so the tokens differ but open to the same invitations).
    reprinted = re.findall(r"http://127\.0\.0\.1:8123(/w/invite/\S+/)", again)

    def nonces(urls):
        return [participants.invite_nonce(url.rstrip("/").rsplit("/", 1)[1]) for url in urls]

    assert nonces(reprinted) == nonces(links[1:]) and None not in nonces(reprinted)
    assert Client().get(reprinted[0], follow=True).status_code == 200
    password = re.search(r"with password  (\S+)", again)[1]
    assert len(password) >= 12 and authenticate(username="experimenter", password=password)
    assert "/home/" in again
