"""The login page: what it shows, and how it treats the flow parameters."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from policies.models import IdentityProvider
from tests.identity.signin_support import NAVIGATION, Browser, LoginFlow, make_application


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def application(db):
    return make_application(domain="app.localhost/demo", name="Wiki")


@pytest.fixture
def flow(application):
    return LoginFlow(Browser(), application)


def test_page_names_the_application_and_offers_both_methods(flow):
    response = flow.open()
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign in to Wiki" in html
    assert '<label for="id_email">Email</label>' in html
    assert "Send me a code</button>" in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert "Sign in</button>" in html


def test_page_carries_the_flow_in_hidden_fields_for_forms_without_javascript(flow):
    html = flow.open().content.decode()
    assert '<form method="post" action="/cdn-cgi/access/login/app.localhost">' in html
    assert f'<input type="hidden" name="kid" value="{flow.application.aud}">' in html
    assert '<input type="hidden" name="redirect_url" value="/demo/page">' in html
    assert f'<input type="hidden" name="state" value="{flow.state_hash}">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "<script" not in html


def test_a_protected_url_too_long_to_return_to_signs_in_to_the_application_root(application):
    flow = LoginFlow(Browser(), application, redirect_url="/demo/" + "x" * 3000)

    response = flow.open()

    assert response.status_code == 200
    assert '<input type="hidden" name="redirect_url" value="">' in response.content.decode()


def test_page_offers_only_the_allowed_identity_provider(db):
    pin = IdentityProvider.objects.get(type=IdentityProvider.Type.ONETIMEPIN)
    application = make_application(domain="app.localhost/demo", allowed_idps=[pin])
    html = LoginFlow(Browser(), application).open().content.decode()
    assert "Send me a code" in html
    assert "Password" not in html


def test_unknown_kid_is_refused(flow):
    response = flow.browser.get(
        f"{flow.page_url}?kid={'0' * 64}&redirect_url=/&state={flow.state_hash}", **NAVIGATION
    )
    assert response.status_code == 400
    assert b"This sign-in link is not valid" in response.content


def test_missing_kid_is_refused(flow):
    response = flow.browser.get(f"{flow.page_url}?state={flow.state_hash}", **NAVIGATION)
    assert response.status_code == 400


def test_kid_of_an_application_on_another_host_is_refused(db, application):
    other = make_application(domain="other.localhost/demo")
    flow = LoginFlow(Browser(), other)
    response = flow.browser.get(
        f"https://app.localhost/cdn-cgi/access/login/app.localhost?kid={other.aud}"
        f"&state={flow.state_hash}",
        **NAVIGATION,
    )
    assert response.status_code == 400


@pytest.mark.parametrize("state", [None, "", "abc", "G" * 64, "A" * 64, "a" * 65])
def test_missing_or_malformed_state_sends_the_browser_back_to_the_application(flow, state):
    query = f"kid={flow.application.aud}&redirect_url=/demo/page"
    if state is not None:
        query += f"&state={state}"
    response = flow.browser.get(f"{flow.page_url}?{query}", **NAVIGATION)
    assert response.status_code == 302
    assert response["Location"] == "https://app.localhost/demo/page"


def test_missing_state_with_a_hostile_redirect_goes_to_the_application_root(db):
    application = make_application(domain="app.localhost/demo")
    flow = LoginFlow(Browser(), application)
    response = flow.browser.get(
        f"{flow.page_url}?kid={application.aud}&redirect_url=//evil.example", **NAVIGATION
    )
    assert response["Location"] == "https://app.localhost/demo"


def test_login_on_the_application_host_moves_to_the_team_domain(flow, settings):
    settings.ACCESS_TEAM_DOMAIN = "access.localhost"
    response = flow.open()
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "access.localhost",
        "/cdn-cgi/access/login/app.localhost",
    )
    assert parse_qs(location.query) == {
        "kid": [flow.application.aud],
        "redirect_url": ["/demo/page"],
        "state": [flow.state_hash],
    }


def test_post_without_a_step_is_refused(flow):
    response = flow.browser.post(flow.page_url, flow.fields)
    assert response.status_code == 400


def test_login_host_page_offers_sign_in_without_an_application(db):
    response = Browser().get("https://access.localhost/cdn-cgi/access/login", **NAVIGATION)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sign in</h1>" in html
    assert "Send me a code" in html
    assert '<form method="post" action="/cdn-cgi/access/login">' in html


# --- error messages tied to their fields -------------------------------------------------------


def _input(html: str, field_id: str) -> str:
    found = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', html)
    assert found is not None, html
    return found.group(0)


INVALID = 'aria-invalid="true" aria-describedby="form-error"'


def test_a_fresh_page_marks_no_field_invalid(flow):
    html = flow.open().content.decode()

    assert 'aria-invalid="true"' not in html
    assert 'id="form-error"' not in html


def test_an_invalid_address_is_announced_on_the_email_field_alone(flow):
    flow.open()
    response = flow.send_pin("not an address")
    html = response.content.decode()

    assert response.status_code == 400
    assert '<p class="error" role="alert" id="form-error">Enter a valid email address.</p>' in html
    assert INVALID in _input(html, "id_email")
    assert "aria-invalid" not in _input(html, "id_password")
    assert "aria-invalid" not in _input(html, "id_username")


def test_a_wrong_password_is_announced_on_the_password_form_alone(flow):
    flow.open()
    response = flow.password("nobody", "wrong")
    html = response.content.decode()

    assert response.status_code == 200
    assert 'id="form-error"' in html
    assert INVALID in _input(html, "id_username")
    assert INVALID in _input(html, "id_password")
    assert "aria-invalid" not in _input(html, "id_email")


def test_every_visible_field_has_its_label(flow):
    html = flow.open().content.decode()
    visible = re.findall(r'<input (?![^>]*type="hidden")[^>]*id="([^"]+)"', html)

    assert visible == ["id_email", "id_username", "id_password"]
    for field_id in visible:
        assert f'<label for="{field_id}">' in html
