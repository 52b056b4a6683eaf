"""Chromium through Playwright as pytest fixtures, for every folder with browser tests
(tests/browser, tests/proxies): one driver per session, a fresh profile per test.

Registered once for the whole suite (tests/conftest.py's `pytest_plugins`): Playwright's sync
API runs one driver per process, so two folders cannot each start their own.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.browser.browser import CHROMIUM, browser_is_required, launch_context


def _browser_unavailable(reason: str) -> None:
    if browser_is_required():
        pytest.fail(f"browser required (CI) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"browser unavailable: {reason}")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        _browser_unavailable(f"{CHROMIUM} is not installed")
    try:
        driver = sync_playwright().start()
    except Exception as error:
        _browser_unavailable(f"Playwright could not start: {error}")
        raise
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def _chromium_launches(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Launch once up front, so a broken browser is one clear skip or failure, not many."""
    try:
        launch_context(playwright_driver, tmp_path_factory.mktemp("probe-profile")).close()
    except Exception as error:
        _browser_unavailable(f"Chromium did not launch: {error}")


@pytest.fixture
def browser_context(
    playwright_driver: Playwright, _chromium_launches: None, tmp_path: Path
) -> Iterator[BrowserContext]:
    """A fresh Chromium profile for one test."""
    context = launch_context(playwright_driver, tmp_path / "profile")
    yield context
    context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.pages[0] if browser_context.pages else browser_context.new_page()
