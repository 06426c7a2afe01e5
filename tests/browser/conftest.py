"""Fixtures of the browser tests: one JupyterLab server and one Chromium for the whole session.

Both skip the test with the reason when Chromium or Playwright is missing. A test gets a fresh
page (:func:`page`) at 1366x768 whose uncaught JavaScript errors are collected in
``page.xaikit_errors``.
"""

from __future__ import annotations

import os

import pytest

from tests.browser.lab import CHROMIUM, CHROMIUM_FLAGS, LAPTOP, screenshot_folders, serve_lab


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium (Playwright's sync API); skips when either is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install -y chromium)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright)",
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lab(chromium, tmp_path_factory):
    """A JupyterLab serving a temporary root; kernels run with ``XAIKIT_SMOKE=1`` (short runs).

    Depends on :func:`chromium` so that a missing browser skips before a server starts.
    """
    with serve_lab(tmp_path_factory.mktemp("jupyterlab"), env={"XAIKIT_SMOKE": "1"}) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so :func:`page` knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"xaikit_{report.when}", report)


@pytest.fixture
def page(chromium, tmp_path, request):
    """A new 1366x768 page; on failure a screenshot ``failure.png`` lands in ``tmp_path``."""
    width, height = LAPTOP
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.xaikit_errors = []
    page.on("pageerror", lambda error: page.xaikit_errors.append(str(error)))
    try:
        yield page
    finally:
        report = getattr(request.node, "xaikit_call", None)
        if report is not None and report.failed:
            page.screenshot(path=tmp_path / "failure.png")
            print(f"screenshot of the failed page: {tmp_path / 'failure.png'}")
        context.close()


@pytest.fixture
def screenshot_dirs(tmp_path):
    """Where the test's screenshots go: ``tmp_path/screenshots`` and ``$XAIKIT_SCREENSHOTS``."""
    return screenshot_folders(tmp_path)
