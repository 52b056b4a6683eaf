"""Attacks from outside with an HTTP client: enumeration, throttling bypasses, confused tokens."""

import re
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from identity.claims import TokenError
from identity.cookies import CF_AUTHORIZATION
from identity.flows.password import INCORRECT
from identity.flows.pin import CHECKS_PAUSED, MAX_ATTEMPTS
from identity.models import AccessSession
from identity.sessions import session_revoke
from identity.throttles import PIN_SEND_PER_ADDRESS, PIN_VERIFY_PER_IP, throttle_key_for_ip
from identity.tokens import issue_token, verify_access_token
from tests.gatekit import committed
from tests.identity.signin_support import (
    Browser,
    LoginFlow,
    code_from,
    follow_hop,
    make_application,
    sign_in_with_pin,
)


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def flow(db):
    return LoginFlow(Browser(), make_application(domain="app.localhost/demo", name="Wiki"))


def _send_pin_from(flow: LoginFlow, email: str, ip: str) -> int:
    data = {"step": "send_pin", "email": email, **flow.fields}
    return flow.browser.post(flow.page_url, data, REMOTE_ADDR=ip).status_code


def _pin_request(flow: LoginFlow, email: str, queue) -> tuple[list[str], bytes, object]:
    """The SQL the answer to a PIN request ran, its page, and the one task it enqueued."""
    queue.clear()
    with CaptureQueriesContext(connection) as queries:
        response = flow.send_pin(email)
    assert response.status_code == 200
    [queued] = queue.results
    # The CSRF token is masked anew on every page.
    page = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    page = page.replace(email.encode(), b"<email>")
    return [query["sql"] for query in queries.captured_queries], page, queued


def test_a_pin_request_is_answered_with_the_same_work_for_any_address(flow, task_queue):
    # Storing the PIN and its event for an allowed address only cost tens of milliseconds on
    # SQLite: the answer time told who may sign in.
    flow.open()
    allowed_sql, allowed_page, allowed_task = _pin_request(flow, "ann@example.com", task_queue)
    refused_sql, refused_page, refused_task = _pin_request(flow, "eve@elsewhere.test", task_queue)
    assert allowed_sql == refused_sql
    assert not any(sql.startswith(("INSERT", "UPDATE", "DELETE")) for sql in allowed_sql)
    assert allowed_page == refused_page
    # One task for either address: the same function, told whether to send an email.
    assert allowed_task.task.module_path == refused_task.task.module_path
    assert allowed_task.task.module_path == "identity.flows.pin.issue_pin"
    assert allowed_task.kwargs.keys() == refused_task.kwargs.keys()
    assert (allowed_task.kwargs["eligible"], refused_task.kwargs["eligible"]) == (True, False)


def test_one_ipv6_slash_56_shares_the_pin_throttle(flow, mailoutbox):
    # A subscriber is routed a /56: its 256 /64s are one client.
    for number in range(20):
        address = f"2001:db8:1:{number:x}::{number + 1:x}"
        assert _send_pin_from(flow, f"p{number}@example.com", address) == 200
    assert _send_pin_from(flow, "last@example.com", "2001:db8:1:ff:ffff::9") == 429
    assert len(mailoutbox) == 20


def test_another_ipv6_slash_56_has_its_own_pin_allowance(flow, mailoutbox):
    for number in range(20):
        _send_pin_from(flow, f"p{number}@example.com", f"2001:db8:1:{number:x}::1")
    assert _send_pin_from(flow, "last@example.com", "2001:db8:1:100::1") == 200


def test_throttle_keys_are_the_ipv4_address_and_the_ipv6_slash_56():
    assert throttle_key_for_ip(IPv4Address("192.0.2.7")) == "192.0.2.7"
    assert throttle_key_for_ip(IPv6Address("2001:db8:1:2:3:4:5:6")) == "2001:db8:1::/56"
    assert throttle_key_for_ip(IPv6Address("2001:db8:1:1ff::1")) == "2001:db8:1:100::/56"


def test_the_ipv6_grouping_follows_its_setting(settings):
    settings.ACCESS_THROTTLE_IPV6_PREFIX = 48

    assert throttle_key_for_ip(IPv6Address("2001:db8:1:ffff::1")) == "2001:db8:1::/48"


def test_password_failures_across_one_ipv6_slash_56_lock_out_all_of_it(flow, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_user("ann", email="ann@example.com", password="right-pass")
    # Five wrong passwords for one username, each from another /64 of the same /56: one address.
    for number in range(5):
        data = {"step": "password", "username": "ann", "password": "x", **flow.fields}
        flow.browser.post(flow.page_url, data, REMOTE_ADDR=f"2001:db8:1:{number:x}::1")
    data = {"step": "password", "username": "ann", "password": "right-pass", **flow.fields}
    response = flow.browser.post(flow.page_url, data, REMOTE_ADDR="2001:db8:1:ff::ff")
    assert response.status_code == 429
    assert b"sign-in is locked" in response.content
    assert INCORRECT.encode() not in response.content
    elsewhere = flow.browser.post(flow.page_url, data, REMOTE_ADDR="2001:db8:2::1")
    assert elsewhere.status_code == 302


def _app_token() -> str:
    return issue_token(
        token_type="app",
        audiences=["a" * 64],
        email="ada@example.com",
        subject="user-1",
        identity_nonce="nonce-1",
        lifetime=timedelta(hours=1),
        issuer="https://app.localhost",
    )


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda sig: sig[:10] + "!~*$" + sig[10:], id="characters-outside-base64url"),
        pytest.param(lambda sig: sig.replace("-", "+").replace("_", "/"), id="standard-alphabet"),
    ],
)
def test_a_token_has_one_spelling(db, mangle):
    # The lenient base64 decoder skipped foreign characters: one signature, many token strings.
    header, payload, signature = _app_token().split(".")
    with pytest.raises(TokenError) as caught:
        verify_access_token(
            f"{header}.{payload}.{mangle(signature)}",
            audience="a" * 64,
            token_type="app",
            issuer="https://app.localhost",
        )
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize("address", ["adm\u0131n@example.com", "\u017fam@example.com"])
def test_an_address_that_only_folds_to_ascii_is_refused(flow, mailoutbox, address):
    # "adm\u0131n".upper() == "ADMIN": a downstream iexact lookup would take it for admin.
    response = flow.send_pin(address)
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert mailoutbox == []


def test_an_international_domain_gets_its_ascii_spelling(flow, mailoutbox):
    flow.send_pin("ann@b\u00fccher.example")
    assert mailoutbox == []  # no policy allows that domain; the throttle key is the ASCII form
    assert PIN_SEND_PER_ADDRESS.count("ann@xn--bcher-kva.example") == 1


def test_revoking_an_application_session_is_not_undone_by_a_later_sign_in(db, mailoutbox):
    first = make_application(domain="app.localhost/one")
    second = make_application(domain="app.localhost/two")
    browser = Browser()
    one = LoginFlow(browser, first, redirect_url="/one")
    follow_hop(one, sign_in_with_pin(one, mailoutbox))
    first_token = browser.cookies("app.localhost").pop(CF_AUTHORIZATION)
    # A second, separate sign-in (a new identity nonce) while the first token is still valid.
    two = LoginFlow(browser, second, redirect_url="/two")
    hop = sign_in_with_pin(two, mailoutbox)
    browser.cookies("app.localhost")[CF_AUTHORIZATION] = first_token
    second_token = follow_hop(two, hop).cookies[CF_AUTHORIZATION].value
    with committed():
        session_revoke(session=AccessSession.objects.get(application__aud=first.aud))
    with pytest.raises(TokenError) as caught:
        verify_access_token(
            second_token, audience=first.aud, token_type="app", issuer="https://app.localhost"
        )
    assert caught.value.reason == "wrong audience"


_VALUES = re.compile(r"'[^']*'|\b\d+\b")


def _statements_of_pin_check(flow: LoginFlow, email: str) -> list[str]:
    """The SQL a wrong code runs (values left out), after a PIN was requested for `email`."""
    assert flow.send_pin(email).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = flow.verify_pin("000000", email=email)
    assert response.status_code == 200
    return [_VALUES.sub("?", query["sql"]) for query in queries.captured_queries]


def test_a_wrong_code_costs_the_same_for_any_address(flow, mailoutbox):
    # A wrong code spent an attempt (a database write) only when a PIN had really been stored,
    # which told whether the address may sign in.
    flow.open()
    allowed = _statements_of_pin_check(flow, "ann@example.com")
    refused = _statements_of_pin_check(flow, "eve@elsewhere.test")
    assert allowed == refused
    assert any(sql.startswith("UPDATE") for sql in refused)


def _wrong_codes(flow: LoginFlow, mailoutbox, count: int, email: str = "ann@example.com") -> None:
    for number in range(count):
        if number % MAX_ATTEMPTS == 0:
            flow.send_pin(email)
        code = code_from(mailoutbox[-1])
        flow.verify_pin(f"{(int(code) + 1) % 1_000_000:06d}", email=email)


def test_wrong_codes_from_one_client_lock_its_pin_checks_out(flow, mailoutbox):
    # Each PIN allows five tries, but one client could ask for twenty PINs (addresses at an
    # allowed domain are endless): a hundred guesses at six digits every ten minutes.
    _wrong_codes(flow, mailoutbox, PIN_VERIFY_PER_IP.limit)
    flow.send_pin("bob@example.com")
    response = flow.verify_pin(code_from(mailoutbox[-1]), email="bob@example.com")
    assert response.status_code == 429
    assert CHECKS_PAUSED.encode() in response.content


def test_the_pin_check_lock_out_is_per_client(flow, mailoutbox, settings):
    # Budgets wide enough that only the client's own runs out.
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = settings.ACCESS_PIN_FAILURES_OVERALL = 100
    _wrong_codes(flow, mailoutbox, PIN_VERIFY_PER_IP.limit)
    other = LoginFlow(Browser(), flow.application)
    other.send_pin("bob@example.com")
    data = {"step": "verify_pin", "email": "bob@example.com", "code": code_from(mailoutbox[-1])}
    response = other.browser.post(other.page_url, {**data, **other.fields}, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 302
