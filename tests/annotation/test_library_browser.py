"""A rendered pairing really plays in a browser (headless Chromium through Playwright)."""

from __future__ import annotations

import pytest

from annotation.models import Pairing, RenderState
from annotation.services import rendering
from tests.factories.annotation import MusicExcerptFactory, VideoClipFactory
from tests.support.media import library_track, library_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAY = """async (video) => {
  video.muted = true;
  video.preload = "auto";
  video.load();
  await new Promise((resolve, reject) => {
    video.onloadeddata = resolve;
    video.onerror = () => reject(new Error("media error " + (video.error && video.error.code)));
    setTimeout(() => reject(new Error("timed out loading")), 20000);
  });
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {duration: video.duration, width: video.videoWidth, height: video.videoHeight, time: video.currentTime};
}"""


def test_the_library_page_plays_a_rendered_pairing(browser, live_server, media_files, django_user_model):
    django_user_model.objects.create_user("curator", password="a long test password", is_staff=True)
    clip = VideoClipFactory(video=library_video(media_files["video"]), start_s=0.5, duration_s=2.0)
    excerpt = MusicExcerptFactory(track=library_track(media_files["music"]), start_s=0.0, duration_s=2.0)
    pairing = Pairing.objects.create(clip=clip, excerpt=excerpt)
    rendering.render_pairings(pairing_ids=[pairing.pk])
    assert Pairing.objects.get(pk=pairing.pk).state == RenderState.READY

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/library/%3Fkind%3Dpairings")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "a long test password")
        page.click("input[type=submit]")
        page.wait_for_url("**/library/?kind=pairings")
        played = page.locator(f'[data-pairing="{pairing.pk}"] video').evaluate(PLAY)
    finally:
        context.close()

    assert played["duration"] == pytest.approx(2.0, abs=0.1)
    assert (played["width"], played["height"]) == (96, 64)
    assert played["time"] > 0  # it is actually playing: picture and AAC sound decoded by the browser
