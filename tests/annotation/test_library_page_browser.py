"""The library page in headless Chromium: log in, filter, tick items, save a named set, see it listed.

Also at a phone's width (375 px: nothing wider than the screen) and with axe-core (no serious violations).
With ``MVFIT_DOCS_SCREENSHOTS=1`` the desktop screenshot is copied to ``docs/img/workspace-library.png``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from annotation.models import StimulusSet, VideoClip
from annotation.selectors import resolve_stimulus_set
from annotation.services import rendering
from tests.factories.annotation import MusicExcerptFactory, MusicTrackFactory, VideoClipFactory
from tests.support.axe import assert_no_serious_violations
from tests.support.media import library_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long library password"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def library(media_files):
    scenes = {"nature-water": media_files["video"], "urban-traffic": media_files["video2"]}
    clips = []
    for label, path in scenes.items():
        video = library_video(path, label=label, title=f"{label.replace('-', ' ')} footage", license="CC-BY-4.0")
        for start in (0.0, 1.0, 2.0):
            clip = VideoClipFactory(video=video, start_s=start, duration_s=1.5)
            rendering.make_poster(clip_id=clip.pk)
            clips.append(clip)
    for genre in ("jazz", "classical"):
        MusicExcerptFactory(track=MusicTrackFactory(label=genre, license="CC0-1.0"), duration_s=1.5)
    assert VideoClip.objects.exclude(poster_file="").count() == 6
    return clips


def test_an_experimenter_filters_the_library_and_saves_a_named_set(
    browser, live_server, django_user_model, library, tmp_path
):
    django_user_model.objects.create_user("curator", password=PASSWORD, is_staff=True)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"{base}/login/?next=/library/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/library/")
        assert page.locator(".lib-card img").count() == 6
        assert all(page.locator(".lib-card img").evaluate_all("(imgs) => imgs.map((i) => i.naturalWidth > 0)"))

        # Filter by scene category, then tick two clips and save them as a named set.
        page.select_option("#f-label", "nature-water")
        page.click(".lib-filters button[type=submit]")
        page.wait_for_url("**label=nature-water**")
        cards = page.locator(".lib-card")
        assert cards.count() == 3
        nature = list(VideoClip.objects.filter(video__label="nature-water").order_by("pk").values_list("pk", flat=True))
        page.check(f"#clip-{nature[0]}")
        page.check(f"#clip-{nature[2]}")
        page.fill("#id_name", "water pilot")
        shot = tmp_path / "library.png"
        page.screenshot(path=str(shot), full_page=True)
        page.click(".lib-save button[type=submit]")
        page.wait_for_selector("text=Saved the stimulus set “water pilot”.")
        assert "label=nature-water" in page.url  # back on the filtered page
        row = page.locator("tr[data-set]").first
        assert row.inner_text().split("\t")[:3] == ["water pilot", "2", "0"]
        assert resolve_stimulus_set(set_id=StimulusSet.objects.get().pk) == ([nature[0], nature[2]], [])
        assert_no_serious_violations(page)

        # "Select all on this page" (static JS), on the excerpts, added to the same set.
        page.click('.lib-kinds a:text-is("Excerpts")')
        page.wait_for_url("**kind=excerpts**")
        page.click("#select-page")
        assert page.locator('input[name="excerpt"]:checked').count() == 2
        page.select_option("#id_add_to", label="water pilot")
        page.click(".lib-save button[type=submit]")
        page.wait_for_selector("text=Saved the stimulus set “water pilot”.")
        assert page.locator("tr[data-set]").first.inner_text().split("\t")[:3] == ["water pilot", "2", "2"]

        # A phone's width: nothing overflows, the filters and cards stack, still accessible.
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto(base + reverse("annotation:library"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{overflow}px wider than the phone"
        box = page.locator(".lib-card").first.bounding_box()
        assert box["width"] <= 375
        assert_no_serious_violations(page)
    finally:
        context.close()
    if os.environ.get("MVFIT_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, DOCS / "workspace-library.png")
