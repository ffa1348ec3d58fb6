"""Headless Debian Chromium through Playwright's sync API, for tests that drive real pages.

Playwright's sync API runs an event loop in the test thread, which makes Django's async-safety
check refuse ORM calls from that thread; the tests only touch the ORM between browser steps, so
the check is switched off for them (the standard pytest-django + Playwright arrangement).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MVFIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"browser tests need {CHROMIUM} (apt-get install chromium); `playwright install` cannot download here"
        )
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # phone-sized
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()
