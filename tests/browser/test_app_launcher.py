"""The App Launcher in Chromium: at `/` on the login host each person sees exactly the tiles of
the applications their policies let them open, the search filters them as one types (and on the
server once sent), and a tile opens its application without signing in again.

On the launcher's own server (`launcher_project`, with `launcher_configuration` of
tests/browser/scenario_config.py): Ada may open the wiki and payroll, Grace the wiki and the help
desk; the hidden tool and the vault have a tile for nobody.
"""

from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.browser.flows import expect_landed, open_the_launcher
from tests.browser.scenario_config import (
    ADA,
    GRACE,
    HELP_DESK,
    PAYROLL,
    WIKI,
    Person,
    ProtectedApp,
)
from tests.browser.servers import LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser

NO_MATCH = "No application matches this search."


@dataclass(frozen=True)
class Tile:
    name: str
    host: str
    link: str


def tile_of(project: ProjectServer, app: ProtectedApp) -> Tile:
    """The tile `app` should have: its name, its domain, a link to its root on the server."""
    return Tile(app.name, app.domain, project.url(app.host, app.path))


def shown_tiles(page: Page) -> list[Tile]:
    """The tiles as a person sees them now, in order (tiles a search hides are not shown)."""
    links = page.get_by_role("list", name="Applications").get_by_role("link")
    rows = links.evaluate_all(
        """links => links.map(link => [
            link.querySelector(".tile-name").textContent,
            link.querySelector(".tile-host").textContent,
            link.getAttribute("href"),
        ])"""
    )
    return [Tile(*row) for row in rows]


@pytest.mark.parametrize(
    ("person", "apps"),
    [(ADA, [PAYROLL, WIKI]), (GRACE, [HELP_DESK, WIKI])],
    ids=["ada", "grace"],
)
def test_each_person_sees_exactly_the_applications_they_may_open(
    page: Page, launcher_project: ProjectServer, person: Person, apps: list[ProtectedApp]
):
    open_the_launcher(page, launcher_project, person)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your applications")
    expect(page.get_by_text("Signed in as")).to_have_text(f"Signed in as {person.email}")
    assert shown_tiles(page) == [tile_of(launcher_project, app) for app in apps]
    # Nor is any other application in the page, hidden.
    expect(page.locator("[data-launcher-tile]")).to_have_count(len(apps))
    expect(page.get_by_role("status")).to_be_hidden()


def test_the_search_filters_the_tiles_as_one_types_and_once_sent(
    page: Page, launcher_project: ProjectServer
):
    open_the_launcher(page, launcher_project, ADA)
    search = page.get_by_role("searchbox", name="Search applications")
    payroll, wiki = tile_of(launcher_project, PAYROLL), tile_of(launcher_project, WIKI)

    search.fill("PAY")  # in the name, in any case
    assert shown_tiles(page) == [payroll]
    search.fill("api.access")  # in the host
    assert shown_tiles(page) == [wiki]
    search.fill("zzz")
    assert shown_tiles(page) == []
    expect(page.get_by_role("status")).to_have_text(NO_MATCH)
    search.fill("")
    assert shown_tiles(page) == [payroll, wiki]
    expect(page.get_by_role("status")).to_be_hidden()

    search.fill("pay")
    search.press("Enter")

    expect(page).to_have_url(launcher_project.url(LOGIN_HOST, "/?q=pay"))
    page.wait_for_load_state()
    expect(search).to_have_value("pay")
    assert shown_tiles(page) == [payroll]


def test_a_tile_opens_its_application_signed_in(page: Page, launcher_project: ProjectServer):
    open_the_launcher(page, launcher_project, ADA)

    page.get_by_role("link", name=PAYROLL.name).click()

    expect_landed(page, launcher_project.url(PAYROLL.host, PAYROLL.path), ADA.email)
