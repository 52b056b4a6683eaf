"""Deactivating, deleting or changing the password of a Django user ends their sign-ins.

Ann signs in with her password to the wiki through the login host. Whatever way an administrator
then takes her account away (the model, the admin's forms and actions, `changepassword`), her
app token stops passing the gate at once and the org session signs her in nowhere else.
"""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from common.versioning import invalidate_all
from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
)

LOGIN_HOST = "access.localhost"
PASSWORD = "correct horse battery staple"
WIKI_PAGE = "https://wiki.localhost/demo/echo/page"


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def ann(db):
    return get_user_model().objects.create_user("ann", "ann@example.com", PASSWORD)


@pytest.fixture
def browser(ann):
    """Ann has signed in to the wiki with her password."""
    browser = Browser()
    wiki = make_application(domain="wiki.localhost/demo", name="Wiki")
    flow = LoginFlow(browser, wiki, app_host="wiki.localhost", login_host=LOGIN_HOST)
    follow_hop(flow, flow.password("ann", PASSWORD))
    assert _wiki(browser).status_code == 200
    return browser


@pytest.fixture
def admin_client(client, db):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    client.force_login(root)
    return client


def _wiki(browser):
    return browser.get(WIKI_PAGE, **NAVIGATION)


def _sso_to_tracker(browser):
    tracker = make_application(domain="tracker.localhost/demo", name="Tracker")
    flow = LoginFlow(browser, tracker, app_host="tracker.localhost", login_host=LOGIN_HOST)
    return flow.open()


def _assert_signed_out_everywhere(browser):
    refused = _wiki(browser)
    assert refused.status_code == 302
    assert refused["Location"].startswith(f"https://{LOGIN_HOST}/cdn-cgi/access/login/")
    sso = _sso_to_tracker(browser)
    assert sso.status_code == 200  # the sign-in page, not a code for the tracker
    assert b'name="password"' in sso.content
    assert not AccessSession.objects.filter(revoked_at__isnull=True).exists()


def test_deactivating_the_user_revokes_their_sessions(browser, ann):
    ann.is_active = False
    ann.save()

    _assert_signed_out_everywhere(browser)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.REVOCATION)
    assert event.email == "ann@example.com"
    assert event.detail["scope"] == "user"


def test_changing_the_password_revokes_their_sessions(browser, ann):
    ann.set_password("a brand new passphrase")
    ann.save()

    _assert_signed_out_everywhere(browser)


def test_an_unusable_password_revokes_their_sessions(browser, ann):
    ann.set_unusable_password()
    ann.save(update_fields=["password"])

    _assert_signed_out_everywhere(browser)


def test_deleting_the_user_revokes_their_sessions(browser, ann):
    ann.delete()

    _assert_signed_out_everywhere(browser)


def test_saving_other_fields_keeps_the_sessions(browser, ann):
    ann.first_name = "Ann"
    ann.save()
    ann.save(update_fields=["last_login"])

    assert _wiki(browser).status_code == 200
    assert _sso_to_tracker(browser).status_code == 302


def test_deactivating_in_the_admin_revokes_their_sessions(browser, ann, admin_client):
    page = admin_client.get(f"/admin/auth/user/{ann.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name not in ("groups", "user_permissions")
    }
    data.update({"is_active": "", "date_joined_0": "2030-01-01", "date_joined_1": "12:00:00"})
    data.pop("date_joined", None)
    data.pop("last_login", None)

    response = admin_client.post(f"/admin/auth/user/{ann.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    _assert_signed_out_everywhere(browser)


def test_changing_the_password_in_the_admin_revokes_their_sessions(browser, ann, admin_client):
    new = "an entirely different passphrase"

    response = admin_client.post(
        f"/admin/auth/user/{ann.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )

    assert response.status_code == 302
    _assert_signed_out_everywhere(browser)


def test_deleting_in_the_admins_bulk_action_revokes_their_sessions(browser, ann, admin_client):
    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [ann.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=ann.pk).exists()
    _assert_signed_out_everywhere(browser)


def test_changepassword_command_revokes_their_sessions(browser, ann):
    with mock.patch("getpass.getpass", return_value="a brand new passphrase"):
        call_command("changepassword", "ann")

    _assert_signed_out_everywhere(browser)


def test_a_queryset_update_is_caught_when_revocations_are_next_rebuilt(browser, ann):
    # `QuerySet.update()` sends no signal: the session stays unrevoked in the database, but the
    # revocation state refuses sessions of inactive users whenever it is rebuilt.
    get_user_model().objects.filter(pk=ann.pk).update(is_active=False)
    invalidate_all()  # the next rebuild, whatever causes it

    assert _wiki(browser).status_code == 302
    assert _sso_to_tracker(browser).status_code == 200


def _tracker_flow(browser):
    """A flow to a second application, with every in-memory state built (and kept) from now."""
    tracker = make_application(domain="tracker.localhost/demo", name="Tracker")
    assert _wiki(browser).status_code == 200
    return LoginFlow(browser, tracker, app_host="tracker.localhost", login_host=LOGIN_HOST)


def test_sso_reads_the_account_before_it_issues_a_code(browser, ann):
    # The update sends no signal and nothing rebuilds the revocation state: the org token still
    # verifies, and only SSO's own look at the account stands in the way.
    flow = _tracker_flow(browser)
    get_user_model().objects.filter(pk=ann.pk).update(is_active=False)

    response = flow.open()

    assert response.status_code == 200
    assert b'name="password"' in response.content
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN, detail__sso=True).exists()


def test_sso_refuses_a_password_sign_in_whose_user_row_is_gone(browser, ann):
    flow = _tracker_flow(browser)
    # As if the user had been deleted without the signal: the sessions keep no user.
    AccessSession.objects.update(user=None)

    assert flow.open().status_code == 200


def test_sso_refuses_a_sign_in_revoked_a_moment_ago(browser, ann):
    flow = _tracker_flow(browser)
    # Revoked in the database by another process; this one's state has not caught up yet.
    AccessSession.objects.update(revoked_at=timezone.now())

    assert flow.open().status_code == 200


def test_sso_still_works_for_an_active_user(browser, ann):
    response = _tracker_flow(browser).open()

    assert response.status_code == 302
    assert "/cdn-cgi/access/authorized?code=" in response["Location"]


def test_the_authorized_hop_refuses_a_code_whose_user_was_deactivated(browser, ann):
    flow = _tracker_flow(browser)
    code_redirect = flow.open()
    assert code_redirect.status_code == 302
    get_user_model().objects.filter(pk=ann.pk).update(is_active=False)

    hop = follow_hop(flow, code_redirect)

    assert hop.status_code == 400
    assert CF_AUTHORIZATION not in hop.cookies
