"""The montages page in headless Chromium: pending montages update in place as workers report, no reload.

A montage rendering in the background shows its progress; when the worker finishes, its video appears
(and a failed one's error and retry button), polled from the detail API by ``montages.js``. Also at a
phone's width and with axe-core (no serious violations).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Montage, MontageKind, RenderState
from tests.annotation.test_montages_api import ready_montage
from tests.factories.annotation import PendingMontageFactory
from tests.support.axe import assert_no_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long montage password"


def test_progress_updates_in_place_until_the_video_or_the_error_appears(browser, live_server, django_user_model):
    django_user_model.objects.create_user("curator", password=PASSWORD, is_staff=True)
    ready = ready_montage(segments=3)
    rendering = PendingMontageFactory(song=ready.song, kind=MontageKind.RANDOM, strategy="random", seed=ready.seed)
    Montage.objects.filter(pk=rendering.pk).update(state=RenderState.RENDERING, progress=10, step="segment 1/1")
    doomed = PendingMontageFactory(song=ready.song, kind=MontageKind.ANTI, strategy="farthest", seed=ready.seed)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login/?next={reverse('annotation:montages')}")
        page.fill("#id_username", "curator")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/library/montages/")
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        card = page.locator(f'[data-montage="{rendering.pk}"]')
        assert card.locator("progress").get_attribute("value") == "10"
        assert page.locator(f'[data-montage="{ready.pk}"] video').count() == 1
        assert page.locator(f'[data-montage="{ready.pk}"] details tbody tr').count() == 3

        Montage.objects.filter(pk=rendering.pk).update(progress=60, step="normalise 2/5")
        page.wait_for_selector(f'[data-montage="{rendering.pk}"] .montage-step:text-is("normalise 2/5")')
        assert card.locator("progress").get_attribute("value") == "60"

        Montage.objects.filter(pk=rendering.pk).update(
            state=RenderState.READY,
            progress=100,
            step="",
            file="montages/x/montage-r.mp4",
            duration_s=5.0,
            provenance={"segments": []},
            provenance_sha256="1" * 64,
            n_segments=2,
        )
        Montage.objects.filter(pk=doomed.pk).update(state=RenderState.FAILED, error="no clip is long enough")
        page.wait_for_selector(f'[data-montage="{rendering.pk}"] video[src$="montages/x/montage-r.mp4"]')
        assert card.locator(".montage-progress").is_hidden() and card.locator(".montage-state").inner_text() == "Ready"
        failed = page.locator(f'[data-montage="{doomed.pk}"]')
        failed.locator(".montage-retry button").wait_for(state="visible")
        assert failed.locator(".montage-error").inner_text() == "no clip is long enough"
        assert page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded
        assert_no_serious_violations(page)

        page.set_viewport_size({"width": 375, "height": 812})
        page.goto(live_server.url + reverse("annotation:montages"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{overflow}px wider than the phone"
        assert_no_serious_violations(page)
    finally:
        context.close()
