"""The API's documentation pages render in Chromium and load nothing from another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route

from tests.browser.servers import LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/redoc/", "h2:has-text('List applications')"),
        ("/api/docs/", ".opblock-summary-description >> text=Rotate a service token's secret"),
    ],
    ids=["redoc", "swagger"],
)
def test_the_docs_page_renders_from_this_site_alone(
    browser_context: BrowserContext, page: Page, project: ProjectServer, path: str, shown: str
) -> None:
    url = project.url(LOGIN_HOST, path)
    origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/"
    sent: list[str] = []  # what reached the network: any other host's is aborted, never fetched
    failed: dict[str, str | None] = {}

    def send(route: Route, request: Request) -> None:
        sent.append(request.url)
        route.continue_() if request.url.startswith(origin) else route.abort()

    browser_context.route("**/*", send)
    page.on("requestfailed", lambda request: failed.update({request.url: request.failure}))

    response = page.goto(url)
    # ReDoc renders the whole schema in the page's thread: on a busy machine that takes a while.
    page.locator(shown).first.wait_for(timeout=60_000)

    assert response is not None
    assert response.status == 200
    assert f"{origin}api/schema/" in sent  # the page did fetch the schema
    assert [entry for entry in sent if not entry.startswith(origin)] == []
    # ReDoc's menu asks for its vendor's logo: the page's policy stops it in the browser
    # (Chromium reports the failure as "csp").
    assert {failure for entry, failure in failed.items() if not entry.startswith(origin)} <= {"csp"}
