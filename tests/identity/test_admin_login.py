"""`/admin/login/` locks out as the gate's password form does, and shares its counters.

Without it an attacker who cannot guess a password on the login page (five tries, then ten
minutes' wait) could guess the same account's password on the admin's form without limit.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.utils import timezone

from identity.models import AuthEvent
from tests.identity.signin_support import Browser, LoginFlow, make_application

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "correct horse battery staple"
WRONG = "Please enter the correct username and password for a staff account."


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


def _log_in(client, username="root", password=PASSWORD, **extra):
    return client.post(
        f"{LOGIN}?next=/admin/", {"username": username, "password": password}, **extra
    )


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


def _refused(response) -> bool:
    return response.status_code == 200 and WRONG in response.content.decode()


def _locked(response) -> bool:
    text = response.content.decode()
    return (
        response.status_code == 200
        and "sign-in is locked for 10 more minutes" in text
        and WRONG not in text
    )


def test_right_password_signs_in(client, root):
    response = _log_in(client)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert _signed_in(client)


def test_five_wrong_passwords_lock_the_username_out_and_say_so(client, root):
    for _ in range(4):
        assert _refused(_log_in(client, password="wrong"))
    assert _locked(_log_in(client, password="wrong"))

    response = _log_in(client)

    assert _locked(response)
    assert not _signed_in(client)
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT).count() == 1


def test_the_username_lock_holds_from_another_address_after_ten(client, root):
    for number in range(10):
        _log_in(client, password="wrong", REMOTE_ADDR=f"192.0.2.{number + 1}")

    response = _log_in(client, REMOTE_ADDR="198.51.100.7")

    assert _locked(response)
    assert not _signed_in(client)


def test_five_failures_at_one_address_leave_other_addresses_alone(client, root):
    for _ in range(5):
        _log_in(client, password="wrong")

    assert _log_in(client, REMOTE_ADDR="192.0.2.7").status_code == 302


def test_failures_from_one_address_for_other_usernames_do_not_lock_it(client, root):
    for number in range(5):
        _log_in(client, username=f"guess{number}", password="wrong")

    assert _log_in(client).status_code == 302


def test_four_failures_do_not_lock(client, root):
    for _ in range(4):
        _log_in(client, password="wrong")

    assert _log_in(client).status_code == 302


def test_the_lock_out_ends_after_ten_minutes(client, root):
    for _ in range(5):
        _log_in(client, password="wrong")
    later = timezone.now() + timedelta(minutes=10, seconds=1)

    with mock.patch("django.utils.timezone.now", return_value=later):
        response = _log_in(client)

    assert response.status_code == 302


def test_failures_on_the_admin_lock_the_gates_password_form_too(client, root):
    for _ in range(5):
        _log_in(client, password="wrong")
    flow = LoginFlow(Browser(), make_application(domain="app.localhost/demo"))

    response = flow.password("root", PASSWORD)

    assert response.status_code == 429
    assert b"sign-in is locked for 10 more minutes" in response.content


def test_failures_on_the_gates_form_lock_the_admin_too(client, root):
    flow = LoginFlow(Browser(), make_application(domain="app.localhost/demo"))
    for _ in range(5):
        flow.password("root", "wrong")

    response = _log_in(client)

    assert _locked(response)
    assert not _signed_in(client)


def test_a_user_who_is_not_staff_is_refused_and_counts_no_failure(client, db):
    get_user_model().objects.create_user("ann", "ann@example.com", PASSWORD)

    response = _log_in(client, username="ann")

    assert response.status_code == 200
    assert not _signed_in(client)
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT).exists()


def test_unreachable_throttle_cache_refuses_the_login(client, root):
    unreachable = mock.Mock(side_effect=ConnectionError("cache down"))

    with mock.patch.multiple(
        "identity.throttles.cache",
        get=unreachable,
        get_many=unreachable,
        add=unreachable,
        incr=unreachable,
        set=unreachable,
        delete_many=unreachable,
    ):
        response = _log_in(client)

    assert response.status_code == 200
    assert "Sign-in is unavailable right now. Try again soon." in response.content.decode()
    assert not _signed_in(client)
