"""Password sign-in: Django users, one error message, lock-outs per username at an address, per
username and per address, each saying for how long."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from identity.flows.password import INCORRECT
from identity.models import AccessSession, AuthEvent
from identity.throttles import PASSWORD_PER_IP, Lockout
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


def _locked(response, minutes=10):
    plural = "s" if minutes != 1 else ""
    return (
        response.status_code == 429
        and f"sign-in is locked for {minutes} more minute{plural}".encode() in response.content
        and INCORRECT.encode() not in response.content
    )


def _page_text(response, username):
    """The page, less what differs by design: the username typed and the CSRF token."""
    text = response.content.decode().replace(f'value="{username}"', "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def _from(flow, address, username, password):
    data = {"step": "password", "username": username, "password": password, **flow.fields}
    return flow.browser.post(flow.page_url, data, REMOTE_ADDR=address)


def test_five_failures_lock_the_username_out_at_that_address(flow, user):
    for _ in range(4):
        assert _failed(flow.password("ann", "wrong"))
    assert _locked(flow.password("ann", "wrong"))  # the failure that locks says so
    assert _locked(flow.password("ann", PASSWORD))
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    assert event.detail == {"username": "ann", "scope": ["username at ip"], "step": "password"}


def test_a_lock_out_reads_the_same_for_a_username_that_does_not_exist(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
        flow.password("nobody", "wrong")
    ann, nobody = flow.password("ann", "wrong"), flow.password("nobody", "wrong")
    assert _locked(ann)
    assert _locked(nobody)
    assert _page_text(ann, "ann") == _page_text(nobody, "nobody")


def test_one_persons_failures_leave_others_behind_the_same_address_alone(flow, user):
    get_user_model().objects.create_user("bob", email="bob@example.com", password=PASSWORD)
    for _ in range(5):
        flow.password("ann", "wrong")
    assert flow.password("bob", PASSWORD).status_code == 302
    assert _from(flow, "192.0.2.7", "ann", PASSWORD).status_code == 302


def test_ten_failures_from_anywhere_lock_the_username(flow, user):
    for number in range(9):
        assert _failed(_from(flow, f"192.0.2.{number + 1}", "ann", "wrong"))
    assert _locked(_from(flow, "192.0.2.10", "ann", "wrong"))
    assert _locked(_from(flow, "198.51.100.1", "ann", PASSWORD))


def test_a_hundred_failures_from_one_address_lock_every_username_from_it(flow, user):
    for _ in range(PASSWORD_PER_IP.limit - 1):
        PASSWORD_PER_IP.record_failure("127.0.0.1")
    assert _locked(flow.password("guess", "wrong"))  # the hundredth
    assert _locked(flow.password("ann", PASSWORD))
    assert _from(flow, "192.0.2.7", "ann", PASSWORD).status_code == 302


def test_ninety_nine_failures_from_one_address_do_not_lock_it(flow, user):
    for _ in range(PASSWORD_PER_IP.limit - 2):
        PASSWORD_PER_IP.record_failure("127.0.0.1")
    assert _failed(flow.password("guess", "wrong"))
    assert flow.password("ann", PASSWORD).status_code == 302


def test_the_lock_out_ends_after_ten_minutes(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert flow.password("ann", PASSWORD).status_code == 302


def test_the_lock_out_holds_just_before_ten_minutes_and_says_how_long(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
    later = timezone.now() + timedelta(minutes=9, seconds=50)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _locked(flow.password("ann", PASSWORD), minutes=1)
    later = timezone.now() + timedelta(minutes=4, seconds=50)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _locked(flow.password("ann", PASSWORD), minutes=6)


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
    # 8 failures in all, and none at that address since the success: nothing is locked
    response = flow.browser.post(flow.page_url, {**data, "password": PASSWORD}, **elsewhere)
    assert response.status_code == 302


def test_lockout_bans_for_its_duration():
    lockout = Lockout("t", 2, timedelta(minutes=10), ban=timedelta(minutes=10))
    now = timezone.now()
    assert lockout.record_failure("k", now=now) is False
    assert lockout.record_failure("k", now=now) is True
    assert lockout.is_locked("k", now=now + timedelta(minutes=9))
    assert not lockout.is_locked("k", now=now + timedelta(minutes=10))


# --- what an outsider can do to a named person's sign-in -----------------------------------------


def test_an_outsider_at_one_address_cannot_lock_the_username_out_everywhere(flow, user):
    for _ in range(30):
        _from(flow, "192.0.2.66", "ann", "wrong")
    # Refused attempts are not guesses: past its own lock-out, one address counts no more.
    assert _locked(_from(flow, "192.0.2.66", "ann", PASSWORD))
    assert _from(flow, "198.51.100.1", "ann", PASSWORD).status_code == 302


def test_attempts_past_the_lock_out_still_count_towards_the_addresss_budget(flow, user):
    get_user_model().objects.create_user("bob", email="bob@example.com", password=PASSWORD)
    for _ in range(PASSWORD_PER_IP.limit - 7):
        PASSWORD_PER_IP.record_failure("192.0.2.66")
    for _ in range(7):  # five lock ann out there, the last two are refused and still counted
        _from(flow, "192.0.2.66", "ann", "wrong")
    assert _locked(_from(flow, "192.0.2.66", "bob", PASSWORD))
    assert _from(flow, "198.51.100.1", "bob", PASSWORD).status_code == 302


def test_the_username_lock_spares_an_address_the_person_signed_in_from(flow, user):
    assert _from(flow, "198.51.100.1", "ann", PASSWORD).status_code == 302
    for number in range(10):
        _from(flow, f"192.0.2.{number + 1}", "ann", "wrong")
    # Guesses from everywhere else stay locked out; the person, where they sign in, does not.
    assert _locked(_from(flow, "203.0.113.9", "ann", PASSWORD))
    assert _from(flow, "198.51.100.1", "ann", PASSWORD).status_code == 302


def test_guesses_from_a_known_address_are_still_limited_there(flow, user):
    assert _from(flow, "198.51.100.1", "ann", PASSWORD).status_code == 302
    for _ in range(5):
        _from(flow, "198.51.100.1", "ann", "wrong")
    assert _locked(_from(flow, "198.51.100.1", "ann", PASSWORD))


def test_a_known_address_is_remembered_for_the_username_alone(flow, user):
    get_user_model().objects.create_user("bob", email="bob@example.com", password=PASSWORD)
    assert _from(flow, "198.51.100.1", "bob", PASSWORD).status_code == 302
    for number in range(10):
        _from(flow, f"192.0.2.{number + 1}", "ann", "wrong")
    assert _locked(_from(flow, "198.51.100.1", "ann", PASSWORD))


class CaseInsensitiveBackend:
    """A project's backend that finds users however the username is written (many do)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        import unicodedata

        wanted = unicodedata.normalize("NFKC", str(username or "")).strip()
        user = get_user_model().objects.filter(username__iexact=wanted).first()
        if user is None or not user.check_password(password):
            return None
        return user

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id).first()


@pytest.mark.parametrize("spelling", ["ANN", "Ann", "ａｎｎ", "ＡＮＮ", " ann\u00a0"])
def test_the_lock_out_holds_however_the_username_is_written(flow, user, settings, spelling):
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CaseInsensitiveBackend"]
    assert flow.password(spelling, PASSWORD).status_code == 302  # the backend takes it
    for _ in range(5):
        flow.password(spelling, "wrong")
    assert _locked(flow.password("ann", PASSWORD))
    assert _locked(flow.password(spelling, PASSWORD))


def test_a_forwarded_for_header_is_not_believed_without_a_trusted_proxy(flow, user, settings):
    settings.ACCESS_TRUSTED_PROXIES = []
    data = {"step": "password", "username": "ann", **flow.fields}
    for number in range(5):
        flow.browser.post(
            flow.page_url,
            {**data, "password": "wrong"},
            REMOTE_ADDR="192.0.2.66",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number + 1}",
        )
    response = flow.browser.post(
        flow.page_url,
        {**data, "password": PASSWORD},
        REMOTE_ADDR="192.0.2.66",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert _locked(response)
    assert AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT).ip == "192.0.2.66"


def _hashings(flow, username, password):
    """How many times the password hasher hashed for one attempt (MD5's `verify` hashes the
    candidate with `encode`, as `set_password` does for an unknown user)."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    real = MD5PasswordHasher.encode
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=real) as encode:
        response = flow.password(username, password)
    return response, encode.call_count


def test_a_lock_out_costs_the_same_hashing_whoever_is_named(flow, user):
    for _ in range(5):
        flow.password("ann", "wrong")
        flow.password("nobody", "wrong")
    answers = {
        "ann, right password": _hashings(flow, "ann", PASSWORD),
        "ann, wrong password": _hashings(flow, "ann", "wrong"),
        "nobody": _hashings(flow, "nobody", PASSWORD),
    }
    assert {name: count for name, (_, count) in answers.items()} == dict.fromkeys(answers, 1)
    assert all(_locked(response) for response, _ in answers.values())
