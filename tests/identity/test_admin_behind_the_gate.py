"""The admin behind the gate: one sign-in, through the gate, as the staff account with that address.

The project's settings make the person who passed the gate `request.user` (identity/users.py),
so an administrator whose staff account has the address they signed in with is in the admin at
once; anyone else is told why the admin's password form cannot help them. Where no application
covers `/admin/`, the admin's own password form signs people in as before.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from identity.cookies import CF_AUTHORIZATION
from tests.gatekit import allow_policy, make_application, token_for

pytestmark = pytest.mark.django_db

LOGIN_HOST = "access.localhost"
INDEX = "Site administration"
PASSWORD_FORM = 'id="login-form"'


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def admin_app():
    """The admin on the login host, protected for everyone at example.com."""
    application = make_application(name="Admin", domain=f"{LOGIN_HOST}/admin")
    allow_policy(application, include=[{"email_domain": {"domain": "example.com"}}])
    return application


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "Root@Example.com", "unused password")


def _get(client, path, **extra):
    return client.get(path, HTTP_HOST=LOGIN_HOST, **extra)


def _signed_in_as(client, application, email):
    client.cookies[CF_AUTHORIZATION] = token_for(application, host=LOGIN_HOST, email=email)


def test_a_staff_account_with_the_signed_in_address_is_in_the_admin_at_once(
    client, admin_app, root
):
    _signed_in_as(client, admin_app, "root@example.com")

    response = _get(client, "/admin/")

    assert response.status_code == 200
    assert INDEX in response.content.decode()
    assert response.context["user"] == root


def test_the_admin_writes_as_that_account_with_no_password_sign_in(client, admin_app, root):
    _signed_in_as(client, admin_app, "root@example.com")
    form = _get(client, "/admin/auth/group/add/")
    token = form.context["csrf_token"]

    response = client.post(
        "/admin/auth/group/add/",
        {"name": "auditors", "csrfmiddlewaretoken": str(token)},
        HTTP_HOST=LOGIN_HOST,
    )

    assert response.status_code == 302
    (entry,) = LogEntry.objects.all()
    assert (entry.user, entry.object_repr) == (root, "auditors")


def test_without_a_sign_in_the_gate_sends_the_browser_to_the_login_page(client, admin_app, root):
    response = _get(client, "/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(f"http://{LOGIN_HOST}/cdn-cgi/access/login/")


def test_an_address_no_account_has_is_told_why_and_offered_no_password_form(
    client, admin_app, root
):
    _signed_in_as(client, admin_app, "bob@example.com")

    index = _get(client, "/admin/")
    page = _get(client, "/admin/login/?next=/admin/")

    assert index.status_code == 302
    assert index["Location"] == "/admin/login/?next=/admin/"
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="access-not-staff"' in text
    said = "<strong>bob@example.com</strong>, and no active\n  staff account has that address."
    assert said in text
    assert 'href="/cdn-cgi/access/logout"' in text
    assert PASSWORD_FORM not in text


def test_a_password_changes_nothing_for_someone_the_gate_says_is_another(client, admin_app, root):
    _signed_in_as(client, admin_app, "bob@example.com")
    client.force_login(root)  # a session of the admin's own, for another person

    assert _get(client, "/admin/").status_code == 302


def test_an_account_that_is_not_staff_is_named(client, admin_app, root):
    get_user_model().objects.create_user("bob", "bob@example.com")
    _signed_in_as(client, admin_app, "bob@example.com")

    text = _get(client, "/admin/login/").content.decode()

    assert "(the account\n  <strong>bob</strong> has it, but is not staff)" in text
    assert PASSWORD_FORM not in text


def test_logging_out_of_the_admin_says_the_gate_still_signs_the_person_in(client, admin_app, root):
    _signed_in_as(client, admin_app, "root@example.com")

    response = client.post("/admin/logout/", HTTP_HOST=LOGIN_HOST)

    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="access-still-signed-in"' in text
    assert "<strong>root@example.com</strong>" in text
    assert 'href="/cdn-cgi/access/logout"' in text


def test_where_the_gate_does_not_cover_the_admin_its_password_form_signs_in(client, root):
    page = _get(client, "/admin/login/")
    signed = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": "unused password"},
        HTTP_HOST=LOGIN_HOST,
    )
    logged_out = client.post("/admin/logout/", HTTP_HOST=LOGIN_HOST)

    assert PASSWORD_FORM in page.content.decode()
    assert 'id="access-not-staff"' not in page.content.decode()
    assert (signed.status_code, signed["Location"]) == (302, "/admin/")
    assert 'id="access-still-signed-in"' not in logged_out.content.decode()
