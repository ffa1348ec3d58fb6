from tests.support.browser import browser, browser_context, page  # noqa: F401  (fixtures)
