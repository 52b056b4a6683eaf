"""Scenario 8: the login page at desktop and phone widths, kept as screenshots for review."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.flows import app_url, is_login_url, new_marker
from tests.browser.scenario_config import PLAIN
from tests.browser.servers import ROOT, ProjectServer

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts" / "browser"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.mark.parametrize("width_name", VIEWPORTS.keys())
def test_login_page_screenshot(page: Page, project: ProjectServer, width_name: str):
    width, height = VIEWPORTS[width_name]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(app_url(project, PLAIN, new_marker()))
    assert is_login_url(page.url, project)
    expect(page.get_by_label("Email")).to_be_visible()
    path: Path = ARTIFACTS / f"login-{width_name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)

    page.screenshot(path=str(path), full_page=True)

    assert path.read_bytes().startswith(PNG_SIGNATURE)
    # Nothing wider than the screen: the page never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for label in ("Email", "Username", "Password"):
        box = page.get_by_label(label).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
