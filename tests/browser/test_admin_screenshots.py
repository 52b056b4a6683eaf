"""The administrator's pages at desktop and phone widths, kept as screenshots for review: the
application form (the rule builder), the activity dashboard and the audit trail.

Each test signs in to the admin in a fresh Chromium profile, checks what a person needs to see
and reach on that page (nothing wider than the screen, the controls inside it), and saves a
full-page screenshot under artifacts/browser/.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.scenario_config import PLAIN
from tests.browser.servers import LOGIN_HOST, ROOT, ProjectServer

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts" / "browser"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "screenshots are for people"
REFUSED_PATH = "/demo/echo/plain/screenshot-refused"
REFUSED_COUNT = 7

# The administrator, and activity the dashboard shows: counts written by the gate's own flush
# into the current 5-minute bucket, added to whatever the server's earlier requests counted there,
# and sign-in events.
_SETUP = f"""
from collections import Counter

from django.contrib.auth import get_user_model
from django.utils import timezone

from identity.activity import BUCKET, _write
from identity.models import AuthEvent

User = get_user_model()
User.objects.create_superuser({ADMIN_USERNAME!r}, "root@example.com", {ADMIN_PASSWORD!r})
bucket = int(timezone.now().timestamp() // BUCKET.total_seconds())
_write(Counter({{
    (bucket, dimension, value): count
    for dimension, value, count in [
        ("decision", "allow", 40),
        ("decision", "deny", {REFUSED_COUNT}),
        ("application", {PLAIN.name!r}, 47),
        ("refused_path", {REFUSED_PATH!r}, {REFUSED_COUNT}),
        ("origin", "https://app.other.test", 12),
        ("refused_address", "198.51.100.23", {REFUSED_COUNT}),
    ]
}}))
for _ in range(3):
    AuthEvent.objects.create(kind=AuthEvent.Kind.SIGN_IN, email="ada@example.com")
AuthEvent.objects.create(kind=AuthEvent.Kind.SIGN_IN_REFUSED, email="mallory@elsewhere.test")
"""


@pytest.fixture(scope="module")
def admin_site(project: ProjectServer) -> ProjectServer:
    project.manage("shell", "-c", _SETUP)
    return project


@pytest.fixture(params=VIEWPORTS.keys())
def width(request: pytest.FixtureRequest, page: Page) -> int:
    width, height = VIEWPORTS[request.param]
    page.set_viewport_size({"width": width, "height": height})
    return width


def sign_in(page: Page, project: ProjectServer) -> None:
    page.goto(project.url(LOGIN_HOST, "/admin/login/?next=/admin/"))
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(ADMIN_USERNAME)


def screenshot(page: Page, name: str, width: int) -> Path:
    label = "phone" if width < 1000 else "desktop"
    path = ARTIFACTS / f"{name}-{label}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    return path


def assert_no_sideways_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def assert_within_screen(locator: Locator, width: int) -> None:
    """Every element `locator` finds is shown, and inside the screen's width."""
    assert locator.count() > 0
    for index in range(locator.count()):
        element = locator.nth(index)
        element.scroll_into_view_if_needed()
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0, element.evaluate("e => e.outerHTML")[:200]
        assert box["x"] + box["width"] <= width, element.evaluate("e => e.outerHTML")[:200]


def open_application(page: Page, project: ProjectServer) -> None:
    page.goto(project.url(LOGIN_HOST, "/admin/policies/application/"))
    page.get_by_role("link", name=PLAIN.name, exact=True).click()
    expect(page.locator("h1")).to_contain_text("Change application")


def test_application_form(page: Page, admin_site: ProjectServer, width: int) -> None:
    sign_in(page, admin_site)
    open_application(page, admin_site)

    policy = page.locator(".inline-related").filter(has_text="People at example.com").first
    rows = policy.locator(".rule-rows .rule-row")
    # The stored rule shows as a row: its selector chosen from the list, its value beside it.
    include = policy.locator("select[name$='-include-0-selector']")
    expect(include).to_have_value("email_domain")
    expect(policy.locator("input[name$='-include-0-value']")).to_have_value("example.com")
    options = include.locator("option").all_text_contents()
    assert {"everyone", "email", "email_domain", "ip", "geo", "group", "service_token"} <= set(
        options
    )
    # Decisions named as Access's dashboard names them, with the config name beside.
    decisions = policy.locator("select[name$='-decision'] option").all_text_contents()
    assert any("Block" in text and "deny" in text for text in decisions), decisions
    assert any("Service Auth" in text and "non_identity" in text for text in decisions)
    # CORS settings and destinations are fields of their own, not JSON.
    expect(page.get_by_label("Allowed origins")).to_be_visible()
    expect(page.get_by_role("textbox", name="Destinations")).to_be_visible()

    assert_no_sideways_scroll(page, width)
    assert_within_screen(rows.locator("select"), width)
    assert_within_screen(rows.locator("input[type=text]"), width)
    assert_within_screen(page.locator("input[name=_save]"), width)
    screenshot(page, "admin-application-form", width)


def test_rule_builder_saves_a_row_and_says_what_is_wrong(
    page: Page, admin_site: ProjectServer, width: int
) -> None:
    sign_in(page, admin_site)
    open_application(page, admin_site)
    policy = page.locator(".inline-related").filter(has_text="People at example.com").first
    # A blank row of the exclude list, filled with an address that is not one.
    policy.locator("select[name$='-exclude-0-selector']").select_option("email")
    policy.locator("input[name$='-exclude-0-value']").fill("not-an-address")
    page.locator("input[name=_continue]").click()

    error = page.locator(".errorlist").filter(has_text="exclude[0]")
    expect(error.first).to_be_visible()
    assert_within_screen(error.first, width)
    assert_no_sideways_scroll(page, width)
    screenshot(page, "admin-application-form-error", width)


def test_activity_dashboard(page: Page, admin_site: ProjectServer, width: int) -> None:
    sign_in(page, admin_site)
    page.goto(admin_site.url(LOGIN_HOST, "/admin/identity/authevent/activity/?period=hour"))
    expect(page.locator("h1")).to_have_text("Activity")

    charts = page.locator("#activity-charts .activity-chart")
    expect(charts).to_have_count(4)
    refused = page.locator(".activity-chart[data-series='refused'] .total")
    assert int(refused.inner_text()) >= REFUSED_COUNT
    for index in range(charts.count()):
        svg = charts.nth(index).locator("a.chart > svg")
        expect(svg).to_be_visible()
    assert_within_screen(page.locator("#activity-charts svg"), width)
    assert_within_screen(page.locator("#activity-tops svg"), width)
    # The charts' words stay readable when the charts shrink to a phone's width.
    for text in page.locator("#activity-charts svg text, #activity-tops svg text").all():
        box = text.bounding_box()
        assert box is not None
        assert box["height"] >= 10, text.inner_html()
    assert_no_sideways_scroll(page, width)
    screenshot(page, "admin-activity", width)

    # The refused path's bar opens the counts behind it, filtered to that path.
    bar = page.locator(".activity-top[data-dimension='refused_path'] svg a").filter(
        has_text=f"{REFUSED_PATH} ({REFUSED_COUNT})"
    )
    expect(bar).to_have_count(1)
    href = bar.get_attribute("href")
    assert href is not None
    query = parse_qs(urlsplit(href).query)
    assert query["dimension__exact"] == ["refused_path"]
    assert query["q"] == [REFUSED_PATH]
    bar.click()
    expect(page).to_have_url(urljoin(page.url, href))
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(REFUSED_PATH)
    expect(results.first).to_contain_text(str(REFUSED_COUNT))

    # The sign-ins chart opens the sign-in events.
    page.go_back()
    page.locator(".activity-chart[data-series='sign-ins'] a.chart").click()
    expect(page).to_have_url(re.compile(r"kind__exact=sign_in(&|$)"))
    events = page.locator("#result_list tbody tr")
    assert events.count() >= 3
    expect(events.first).to_contain_text("ada@example.com")


def test_audit_list(page: Page, admin_site: ProjectServer, width: int) -> None:
    sign_in(page, admin_site)
    # A change through the admin, then its entry in the trail.
    open_application(page, admin_site)
    destinations = page.get_by_role("textbox", name="Destinations")
    marker = f"api.access.test/demo/echo/plain/audit-{width}"
    destinations.fill(marker)
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(admin_site.url(LOGIN_HOST, "/admin/common/auditentry/"))
    headers = page.locator("#result_list thead th").all_inner_texts()
    for column in ("CREATED AT", "WHO", "CHANNEL", "ACTION", "OBJECT"):
        assert any(column in header.upper() for header in headers), headers
    row = page.locator("#result_list tbody tr").filter(has_text=f"{PLAIN.name} (destinations)")
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(ADMIN_USERNAME)
    expect(row.first).to_contain_text("admin")
    # Entries the config file made at startup are there too, through the config file.
    expect(
        page.locator("#result_list tbody tr").filter(has_text="config file").first
    ).to_be_visible()
    # Who, when, through what and which fields: on the screen, without scrolling the table.
    for cell in ("created_at", "actor_display", "channel", "action", "name"):
        assert_within_screen(row.first.locator(f".field-{cell}"), width)
    expect(row.first.locator(".field-name")).to_contain_text("(destinations)")
    assert_no_sideways_scroll(page, width)
    screenshot(page, "admin-audit-list", width)

    # Its page shows the diff: the field, before and after.
    row.first.locator("a").first.click()
    diff = page.locator("table.audit-diff tbody tr").filter(has_text="destinations")
    expect(diff).to_have_count(1)
    expect(diff).to_contain_text(marker)
    assert_within_screen(page.locator("table.audit-diff"), width)
    assert_no_sideways_scroll(page, width)
    screenshot(page, "admin-audit-entry", width)
