"""Accessibility check for browser tests: axe-core (through ``axe-playwright-python``) on the current page.

``assert_no_serious_violations(page)`` fails with each serious or critical violation, its rule and the
elements it was found on. axe runs through Playwright's page evaluation, which the site's strict
Content-Security-Policy does not block.
"""

from __future__ import annotations

SERIOUS = ("serious", "critical")


def assert_no_serious_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} -- " + "; ".join(n["target"][0] for n in v["nodes"][:5]) for v in found
    ]
    assert not found, f"{page.url}: serious accessibility violations:\n" + "\n".join(described)
