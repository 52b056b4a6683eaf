"""axe-core finds no WCAG 2.2 A/AA violation on the sign-in pages, light and dark; the pages
work from the keyboard, with a visible focus.

Each entry of `PAGES` brings a fresh browser to one page (in one state); the test then runs
axe-core there in both colour schemes (tests/browser/accessibility.py). A new page is one more
entry: `"name": lambda page, context, project: page.goto(...)`. The App Launcher's pages are
served by the launcher's own server (`launcher_project`), the others by `project`.
"""

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from identity.approvals import LINK_INVALID
from identity.flows.purpose import EMPTY_ANSWER
from identity.login_urls import APPROVAL_PATH, LOGOUT_PATH
from tests.browser.accessibility import assert_accessible
from tests.browser.flows import (
    APPROVAL_LINK,
    answer_purpose,
    app_url,
    ask_for_access,
    issue_app_token,
    new_marker,
    open_the_launcher,
    pins_sent,
    read_email,
    read_pin,
    request_pin,
    set_app_cookie,
    sign_in_to_the_purpose_app,
    sign_in_with_a_pin,
    submit_password,
    submit_pin,
)
from tests.browser.scenario_config import (
    ADA,
    APPROVAL,
    APPROVAL_PROMPT,
    GRACE,
    MALLORY,
    PLAIN,
    PURPOSE,
    Person,
)
from tests.browser.servers import API_HOST, LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser

Opener = Callable[[Page, BrowserContext, ProjectServer], object]


def _login(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    page.goto(app_url(project, PLAIN, new_marker()))
    expect(page.get_by_label("Email")).to_be_visible()


def _login_with_an_invalid_address(page: Page, context: BrowserContext, project: ProjectServer):
    _login(page, context, project)
    request_pin(page, "someone@example")  # valid to the browser, refused by the server
    expect(page.get_by_role("alert")).to_have_text("Enter a valid email address.")


def _login_with_a_wrong_password(page: Page, context: BrowserContext, project: ProjectServer):
    _login(page, context, project)
    submit_password(page, Person(email=ADA.email, username=ADA.username, password="wrong"))
    expect(page.get_by_role("alert")).to_be_visible()


def _pin_sent(page: Page, context: BrowserContext, project: ProjectServer) -> int:
    """Ask for a code; the number of codes sent to the address before it."""
    _login(page, context, project)
    sent = pins_sent(project.outbox, GRACE.email)
    request_pin(page, GRACE.email)
    expect(page.get_by_label("Code")).to_be_visible()
    return sent


def _pin_entry_with_a_wrong_code(page: Page, context: BrowserContext, project: ProjectServer):
    sent = _pin_sent(page, context, project)
    code = read_pin(project.outbox, GRACE.email, after=sent)
    submit_pin(page, f"{(int(code) + 1) % 1_000_000:06d}")
    expect(page.get_by_role("alert")).to_have_text("That code is not valid.")


def _deny(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    token = issue_app_token(project, MALLORY, [PLAIN], expired=False)
    set_app_cookie(context, project, API_HOST, token)
    page.goto(app_url(project, PLAIN, new_marker()))
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()


def _signed_out(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    page.goto(project.url(API_HOST, LOGOUT_PATH))
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


def _signed_out_on_the_login_host(page: Page, context: BrowserContext, project: ProjectServer):
    page.goto(project.url(LOGIN_HOST, LOGOUT_PATH))
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


def _invalid_sign_in_link(page: Page, context: BrowserContext, project: ProjectServer):
    page.goto(project.url(LOGIN_HOST, f"/cdn-cgi/access/login/{API_HOST}:{project.port}?kid=x"))
    expect(page.get_by_role("heading", name="Cannot continue")).to_be_visible()


def _purpose(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    sign_in_to_the_purpose_app(page, project, app_url(project, PURPOSE, new_marker()))


def _purpose_with_an_empty_answer(page: Page, context: BrowserContext, project: ProjectServer):
    _purpose(page, context, project)
    answer_purpose(page, "   ")  # valid to the browser, refused by the server
    expect(page.get_by_role("alert")).to_be_visible()


def _login_host_home(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    page.goto(project.url(LOGIN_HOST, "/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def _approval_request(page: Page, context: BrowserContext, project: ProjectServer) -> str:
    """Someone new signs in to the application that wants approval; their address."""
    address = f"{new_marker()}@example.com"
    sign_in_with_a_pin(page, project, app_url(project, APPROVAL, new_marker()), address)
    expect(page.get_by_role("heading", name=f"Ask for access to {APPROVAL.name}")).to_be_visible()
    return address


def _approval_request_without_a_reason(page: Page, context: BrowserContext, project: ProjectServer):
    _approval_request(page, context, project)
    ask_for_access(page, APPROVAL.name, APPROVAL_PROMPT, "   ")  # blank, which the server refuses
    expect(page.get_by_role("alert")).to_have_text(EMPTY_ANSWER)


def _approval_waiting(page: Page, context: BrowserContext, project: ProjectServer) -> int:
    """Ask for an approval; how many emails Ada had before hers."""
    _approval_request(page, context, project)
    asked = pins_sent(project.outbox, ADA.email)
    ask_for_access(page, APPROVAL.name, APPROVAL_PROMPT, "Incident 7: restore the backup")
    expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    return asked


def _approver_asked_to_sign_in(page: Page, context: BrowserContext, project: ProjectServer):
    asked = _approval_waiting(page, context, project)
    context.clear_cookies()  # the approver's own browser
    page.goto(read_email(project.outbox, ADA.email, APPROVAL_LINK, after=asked))
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def _approver_page(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    _approver_asked_to_sign_in(page, context, project)
    page.get_by_role("link", name="Sign in").click()
    submit_password(page, ADA)
    expect(page.get_by_role("heading", name=f"Approve access to {APPROVAL.name}?")).to_be_visible()


def _approval_link_not_valid(page: Page, context: BrowserContext, project: ProjectServer):
    page.goto(project.url(LOGIN_HOST, f"{APPROVAL_PATH}/{new_marker()}"))
    expect(page.get_by_role("alert")).to_have_text(LINK_INVALID)


def _launcher(page: Page, context: BrowserContext, project: ProjectServer) -> None:
    open_the_launcher(page, project, ADA)
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()


def _launcher_search_without_a_match(page: Page, context: BrowserContext, project: ProjectServer):
    _launcher(page, context, project)
    page.get_by_role("searchbox", name="Search applications").fill("zzz")
    expect(page.get_by_role("status")).to_have_text("No application matches this search.")


LAUNCHER_PAGES: dict[str, Opener] = {
    "launcher": _launcher,
    "launcher, search without a match": _launcher_search_without_a_match,
}
PAGES: dict[str, Opener] = {
    "login": _login,
    "login, invalid address": _login_with_an_invalid_address,
    "login, wrong password": _login_with_a_wrong_password,
    "PIN sent": _pin_sent,
    "PIN entry, wrong code": _pin_entry_with_a_wrong_code,
    "deny": _deny,
    "signed out": _signed_out,
    "signed out, login host": _signed_out_on_the_login_host,
    "login host home": _login_host_home,
    "purpose": _purpose,
    "purpose, empty answer": _purpose_with_an_empty_answer,
    "invalid sign-in link": _invalid_sign_in_link,
    "approval request": _approval_request,
    "approval request, no reason": _approval_request_without_a_reason,
    "approval awaited": _approval_waiting,
    "approver, not signed in": _approver_asked_to_sign_in,
    "approver's page": _approver_page,
    "approval link not valid": _approval_link_not_valid,
    **LAUNCHER_PAGES,
}


@pytest.fixture
def server_of_the_page(request: pytest.FixtureRequest, name: str) -> ProjectServer:
    """The server that serves page `name`, started only when a page needs it."""
    return request.getfixturevalue("launcher_project" if name in LAUNCHER_PAGES else "project")


@pytest.mark.parametrize("name", PAGES)
def test_axe_core_finds_no_violation_light_or_dark(
    name: str, page: Page, browser_context: BrowserContext, server_of_the_page: ProjectServer
):
    PAGES[name](page, browser_context, server_of_the_page)

    assert_accessible(page)


def _focused(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            return {
                what: element.id || element.textContent.trim(),
                outline: `${style.outlineStyle} ${style.outlineWidth}`,
            };
        }"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_login_page_is_used_from_the_keyboard_with_a_visible_focus(
    page: Page, browser_context: BrowserContext, project: ProjectServer, scheme: str
):
    page.emulate_media(color_scheme=scheme)
    _login(page, browser_context, project)
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        focused = _focused(page)
        order.append(focused["what"])
        assert focused["outline"] == "solid 3px", focused

    assert order == ["id_email", "Send me a code", "id_username", "id_password", "Sign in"]


def test_the_pin_can_be_asked_for_and_entered_from_the_keyboard(
    page: Page, browser_context: BrowserContext, project: ProjectServer
):
    _login(page, browser_context, project)
    page.keyboard.press("Tab")
    page.keyboard.type(GRACE.email)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Code")).to_be_focused()  # the code field takes the focus

    page.keyboard.type("000000")
    page.keyboard.press("Tab")

    assert _focused(page)["what"] == "Sign in"


def test_sign_in_again_is_reached_from_the_keyboard(
    page: Page, browser_context: BrowserContext, project: ProjectServer
):
    _signed_out_on_the_login_host(page, browser_context, project)

    page.keyboard.press("Tab")

    focused = _focused(page)
    assert focused == {"what": "Sign in again", "outline": "solid 3px"}


def test_the_approvers_page_is_used_from_the_keyboard_with_a_visible_focus(
    page: Page, browser_context: BrowserContext, project: ProjectServer
):
    _approver_page(page, browser_context, project)
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focused = _focused(page)
        order.append(focused["what"])
        assert focused["outline"] == "solid 3px", focused
    assert order == ["id_duration", "Approve", "Refuse"]

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()
