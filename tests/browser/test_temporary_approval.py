"""Temporary approval in Chromium: Grace asks to enter an application whose policy wants
approval, Ada approves through the link she is emailed, Grace enters, and once the approval has
ended she is asked again.

The approval's end is moved into the past on the server (time injected, never waited for); the
token it earned ends with it (tests/identity/test_approval_sign_in.py shows the cap), which to
the browser is its cookie expiring, so the test drops that cookie as the browser would.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from identity.cookies import CF_AUTHORIZATION
from tests.browser.browser import launch_context
from tests.browser.flows import (
    APPROVAL_LINK,
    app_url,
    ask_for_access,
    new_marker,
    pins_sent,
    read_email,
    sign_in_with_a_pin,
    submit_password,
)
from tests.browser.scenario_config import ADA, APPROVAL, APPROVAL_PROMPT, GRACE
from tests.browser.servers import LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser

APPROVED = re.compile(r"Your request to enter .* was (approved)\.")

END_GRACES_APPROVAL = """
from datetime import timedelta
from django.utils import timezone
from identity.models import ApprovalRequest
ended = ApprovalRequest.objects.filter(email={email!r}, status="approved").update(
    granted_until=timezone.now() - timedelta(seconds=1)
)
print(ended)
"""


def approve_from_the_email(
    playwright_driver: Playwright, profile: Path, project: ProjectServer, *, after: int
) -> None:
    """Ada opens the link she was emailed in a browser of her own, signs in, approves."""
    link = read_email(project.outbox, ADA.email, APPROVAL_LINK, after=after)
    context = launch_context(playwright_driver, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(link)
        expect(page.get_by_role("status")).to_have_text(
            f"Sign in as {ADA.email} to decide this request."
        )
        page.get_by_role("link", name="Sign in").click()
        submit_password(page, ADA)
        expect(page).to_have_url(link)
        expect(page.get_by_role("heading", name="Approve access to Approval App?")).to_be_visible()
        expect(page.get_by_text("Incident 7: restore the backup")).to_be_visible()
        page.get_by_label("Approve for").select_option(label="1 hour")
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()
    finally:
        context.close()


def test_a_person_asks_is_approved_by_email_link_enters_and_is_asked_again_after(
    page: Page,
    browser_context: BrowserContext,
    playwright_driver: Playwright,
    project: ProjectServer,
    tmp_path: Path,
):
    url = app_url(project, APPROVAL, new_marker())
    sign_in_with_a_pin(page, project, url, GRACE.email)
    asked_before = pins_sent(project.outbox, ADA.email)
    ask_for_access(page, APPROVAL.name, APPROVAL_PROMPT, "Incident 7: restore the backup")
    expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()

    told_before = pins_sent(project.outbox, GRACE.email)
    approve_from_the_email(playwright_driver, tmp_path / "ada", project, after=asked_before)
    assert read_email(project.outbox, GRACE.email, APPROVED, after=told_before) == "approved"

    page.get_by_role("link", name="Open Approval App once approved").click()
    expect(page).to_have_url(url)
    assert GRACE.email in page.locator("body").inner_text()

    assert project.manage("shell", "-c", END_GRACES_APPROVAL.format(email=GRACE.email)).strip()
    browser_context.clear_cookies(name=CF_AUTHORIZATION, domain=APPROVAL.host)
    page.goto(url)
    expect(page.get_by_role("heading", name="Ask for access to Approval App")).to_be_visible()
    assert page.url.startswith(project.url(LOGIN_HOST, "/cdn-cgi/access/login/"))
