"""Password sign-in: Django users, one error message, lock-out per username and per client IP."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from identity.flows.password import INCORRECT
from identity.models import AccessSession, AuthEvent
from identity.throttles import Lockout
from tests.identity.signin_support import Browser, LoginFlow, make_application

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # PBKDF2's cost is for production; the tests count hasher calls instead of timing them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("ann", email="Ann@Example.com", password=PASSWORD)


@pytest.fixture
def flow(db):
    return LoginFlow(Browser(), make_application(domain="app.localhost/demo"))


def _failed(response):
    return response.status_code == 200 and INCORRECT.encode() in response.content


def test_right_password_signs_in_as_the_users_email(flow, user):
    response = flow.password("ann", PASSWORD)
    assert response.status_code == 302
    assert response["Location"].startswith("https://app.localhost/cdn-cgi/access/authorized?")
    session = AccessSession.objects.get(application__isnull=True)
    assert (session.email, session.user, session.login_method) == (
        "ann@example.com",
        user,
        "Password",
    )


def test_username_is_the_identity_when_the_user_has_no_email(flow, db):
    get_user_model().objects.create_user("bob@example.com", password=PASSWORD)
    assert flow.password("bob@example.com", PASSWORD).status_code == 302
    assert AccessSession.objects.get().email == "bob@example.com"


def test_wrong_password_gives_the_one_message(flow, user):
    response = flow.password("ann", "wrong")
    assert _failed(response)
    assert b'value="ann"' in response.content


def test_unknown_user_gives_the_same_message(flow, user):
    assert _failed(flow.password("nobody", PASSWORD))


def test_inactive_user_gives_the_same_message(flow, user):
    user.is_active = False
    user.save()
    assert _failed(flow.password("ann", PASSWORD))


def test_unknown_users_still_run_the_password_hasher(flow, user):
    with mock.patch(
        "django.contrib.auth.hashers.MD5PasswordHasher.encode", autospec=True
    ) as encode:
        encode.return_value = "md5$x$y"
        flow.password("nobody", PASSWORD)
    assert encode.call_count >= 1


def test_five_failures_lock_the_username_out(flow, user):
    for _ in range(5):
        assert _failed(flow.password("ann", "wrong"))
    assert _failed(flow.password("ann", PASSWORD))
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT).count() == 1


def test_the_lock_out_ends_after_ten_minutes(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert flow.password("ann", PASSWORD).status_code == 302


def test_the_lock_out_holds_just_before_ten_minutes(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
    later = timezone.now() + timedelta(minutes=9, seconds=50)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _failed(flow.password("ann", PASSWORD))


def test_failures_from_one_ip_lock_out_every_username_from_it(flow, user):
    for number in range(5):
        flow.password(f"guess{number}", "wrong")
    assert _failed(flow.password("ann", PASSWORD))


def test_another_ip_is_not_locked_out_by_the_ip_lock(flow, user):
    for number in range(5):
        flow.password(f"guess{number}", "wrong")
    response = flow.browser.post(
        flow.page_url,
        {"step": "password", "username": "ann", "password": PASSWORD, **flow.fields},
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 302


def test_four_failures_do_not_lock(flow, user):
    for _ in range(4):
        flow.password("ann", "wrong")
    assert flow.password("ann", PASSWORD).status_code == 302


def test_a_success_clears_the_usernames_failures(flow, user):
    for _ in range(4):
        flow.password("ann", "wrong")
    assert flow.password("ann", PASSWORD).status_code == 302
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    data = {"step": "password", "username": "ann", **flow.fields}
    for _ in range(4):
        flow.browser.post(flow.page_url, {**data, "password": "wrong"}, **elsewhere)
    response = flow.browser.post(flow.page_url, {**data, "password": PASSWORD}, **elsewhere)
    assert response.status_code == 302


def test_lockout_bans_for_its_duration():
    lockout = Lockout("t", 2, timedelta(minutes=10), ban=timedelta(minutes=10))
    now = timezone.now()
    assert lockout.record_failure("k", now=now) is False
    assert lockout.record_failure("k", now=now) is True
    assert lockout.is_locked("k", now=now + timedelta(minutes=9))
    assert not lockout.is_locked("k", now=now + timedelta(minutes=10))
