"""Scenario 1: no CORS settings, so a preflight is refused by the gate, signed in or not.

Seed: "OPTIONS requests are not sent with cookies from the browser [...] When Cloudflare sees the
OPTIONS request being sent to a protected domain, without a cookie, Cloudflare Access blocks
the request."
"""

import pytest
from playwright.sync_api import Page

from tests.browser.flows import app_url, call_api, new_marker, sign_in_with_password
from tests.browser.scenario_config import CUSTOM_HEADER, PLAIN
from tests.browser.servers import CallingSite, ProjectServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("signed_in", [False, True], ids=["no-session", "signed-in"])
def test_credentialed_fetch_with_custom_header_fails_at_preflight_refused_by_gate(
    page: Page, project: ProjectServer, calling_site: CallingSite, signed_in: bool
):
    if signed_in:
        sign_in_with_password(page, project, app_url(project, PLAIN, new_marker()))
    page.goto(calling_site.url())
    marker = new_marker()

    seen = call_api(
        page,
        app_url(project, PLAIN, marker),
        {"credentials": "include", "headers": {CUSTOM_HEADER: "1"}},
    )

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    [preflight] = project.records.wait_served(marker, method="OPTIONS")
    assert preflight.status == 403
    assert preflight.cors_headers == {}
    assert [r.method for r in project.records.served(marker)] == ["OPTIONS"]
    assert project.records.visits(marker) == []
