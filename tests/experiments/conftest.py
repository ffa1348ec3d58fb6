"""The browser fixtures (browser, browser_context, page) come from tests/support/browser.py via tests/conftest.py."""
