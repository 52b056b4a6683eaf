"""Guessing PINs from many addresses and networks: budgets per address, per application, overall.

Each PIN allows five tries and each client network ten wrong codes in ten minutes, but addresses
at an allowed domain (`x123@example.com`) and IPv6 networks are endless: without budgets that no
fresh address or network resets, an attacker guesses without limit.
"""

import re
from datetime import timedelta
from ipaddress import IPv6Address

import pytest

from identity.cookies import CF_AUTHORIZATION
from identity.flows.pin import CHECKS_PAUSED, INVALID_CODE
from identity.models import AuthEvent, OneTimePin
from identity.throttles import (
    PIN_BUDGET_FIRST_PAUSE,
    FailureBudget,
    Spent,
    spend_budgets,
    throttle_key_for_ip,
)
from tests.identity.signin_support import Browser, LoginFlow, code_from, make_application

LOGIN_HOST = "access.localhost"


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def wiki(db):
    return make_application(domain="wiki.localhost/demo", name="Wiki")


class Client:
    """One browser on a network of its own (each a different IPv6 /56)."""

    def __init__(self, application, number: int) -> None:
        self.ip = f"2001:db8:{number:x}::1"
        self.flow = LoginFlow(
            Browser(), application, app_host=application.domain.split("/")[0], login_host=LOGIN_HOST
        )

    def post(self, step: str, **data):
        fields = {"step": step, **self.flow.fields, **data}
        return self.flow.browser.post(self.flow.page_url, fields, REMOTE_ADDR=self.ip)

    def send_pin(self, email: str):
        return self.post("send_pin", email=email)

    def verify_pin(self, email: str, code: str):
        return self.post("verify_pin", email=email, code=code)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _guess_wrong(application, mailoutbox, *, clients: range, email=None, tries=1):
    """Each client asks a code for a fresh address (or `email`) and enters `tries` wrong ones."""
    for number in clients:
        client = Client(application, number)
        address = email or f"x{number}@example.com"
        assert client.send_pin(address).status_code == 200
        wrong = _wrong(code_from(mailoutbox[-1]))
        for _ in range(tries):
            response = client.verify_pin(address, wrong)
            assert response.status_code == 200
            assert INVALID_CODE.encode() in response.content


def _right_code_from_a_fresh_client(application, mailoutbox, number, email="ann@example.com"):
    client = Client(application, number)
    client.send_pin(email)
    return client.verify_pin(email, code_from(mailoutbox[-1]))


def _assert_paused(response):
    assert response.status_code == 429
    assert CHECKS_PAUSED.encode() in response.content
    assert CF_AUTHORIZATION not in response.cookies


def test_fresh_addresses_from_fresh_networks_exhaust_the_applications_budget(wiki, mailoutbox):
    # Ten wrong codes, each for a new address from a new network: no per-PIN, per-address or
    # per-client limit was reached, yet the application's checks now pause, even for the right
    # code from someone else.
    _guess_wrong(wiki, mailoutbox, clients=range(10))

    response = _right_code_from_a_fresh_client(wiki, mailoutbox, 100)

    _assert_paused(response)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    assert event.detail == {"scope": ["pin-verify-application"], "step": "pin"}


def test_the_applications_budget_holds_just_below_its_limit(wiki, mailoutbox):
    _guess_wrong(wiki, mailoutbox, clients=range(9))

    response = _right_code_from_a_fresh_client(wiki, mailoutbox, 100)

    assert response.status_code == 302
    assert "/cdn-cgi/access/authorized?code=" in response["Location"]


def test_one_application_spent_leaves_another_its_own_budget(wiki, mailoutbox):
    tracker = make_application(domain="tracker.localhost/demo", name="Tracker")
    _guess_wrong(wiki, mailoutbox, clients=range(10))

    response = _right_code_from_a_fresh_client(tracker, mailoutbox, 100)

    assert response.status_code == 302


@pytest.fixture
def wide_shared_budgets(settings):
    """Application and overall budgets that only the address's own outlasts."""
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = settings.ACCESS_PIN_FAILURES_OVERALL = 100


@pytest.mark.usefixtures("wide_shared_budgets")
def test_wrong_codes_for_one_address_from_many_networks_pause_that_address(wiki, mailoutbox):
    # Two PINs, five wrong codes each, from two networks: ten for the address.
    _guess_wrong(wiki, mailoutbox, clients=range(2), email="ann@example.com", tries=5)

    paused = _right_code_from_a_fresh_client(wiki, mailoutbox, 100)
    other = _right_code_from_a_fresh_client(wiki, mailoutbox, 101, email="bob@example.com")

    _assert_paused(paused)
    assert other.status_code == 302


@pytest.mark.usefixtures("wide_shared_budgets")
def test_an_address_no_policy_allows_is_paused_alike(wiki, mailoutbox):
    # The budgets count for every address: a pause does not tell who may sign in.
    for email in ("ann@example.com", "eve@elsewhere.test"):
        for number in range(2):
            client = Client(wiki, number)
            client.send_pin(email)
            for _ in range(5):
                client.verify_pin(email, "000000")
    answers = [Client(wiki, 200 + n) for n in range(2)]
    for client, email in zip(answers, ("ann@example.com", "eve@elsewhere.test"), strict=True):
        client.send_pin(email)

    ann = answers[0].verify_pin("ann@example.com", "123456")
    eve = answers[1].verify_pin("eve@elsewhere.test", "123456")

    assert ann.status_code == eve.status_code == 429
    assert _page_without(ann, answers[0], "ann@example.com") == _page_without(
        eve, answers[1], "eve@elsewhere.test"
    )


def _page_without(response, client: Client, email: str) -> bytes:
    """The page with the address and what belongs to one browser (state, CSRF) taken out."""
    page = response.content.replace(email.encode(), b"")
    page = page.replace(client.flow.state_hash.encode(), b"")
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", page)


def test_the_overall_budget_covers_every_application_and_the_login_hosts_page(
    wiki, mailoutbox, settings
):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 2
    settings.ACCESS_PIN_FAILURES_OVERALL = 3
    tracker = make_application(domain="tracker.localhost/demo", name="Tracker")
    _guess_wrong(wiki, mailoutbox, clients=range(2))
    page = f"https://{LOGIN_HOST}/cdn-cgi/access/login"
    browser = Browser()
    browser.post(page, {"step": "send_pin", "email": "x9@example.com"}, REMOTE_ADDR="192.0.2.9")
    browser.post(
        page,
        {"step": "verify_pin", "email": "x9@example.com", "code": "000000"},
        REMOTE_ADDR="192.0.2.9",
    )

    response = _right_code_from_a_fresh_client(tracker, mailoutbox, 100)

    _assert_paused(response)
    assert AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT).detail["scope"] == [
        "pin-verify-overall"
    ]


def test_the_login_hosts_page_has_a_budget_of_its_own(wiki, mailoutbox, settings):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 2
    page = f"https://{LOGIN_HOST}/cdn-cgi/access/login"
    for number in range(3):
        browser = Browser()
        ip = f"192.0.2.{number + 1}"
        email = f"x{number}@example.com"
        browser.post(page, {"step": "send_pin", "email": email}, REMOTE_ADDR=ip)
        code = code_from(mailoutbox[-1])
        response = browser.post(
            page,
            {"step": "verify_pin", "email": email, "code": code if number == 2 else _wrong(code)},
            REMOTE_ADDR=ip,
        )

    _assert_paused(response)
    assert _right_code_from_a_fresh_client(wiki, mailoutbox, 100).status_code == 302


def test_a_right_code_gives_its_attempt_back(wiki, mailoutbox, settings):
    settings.ACCESS_PIN_FAILURES_PER_APPLICATION = 2
    for number in range(5):
        signed_in = _right_code_from_a_fresh_client(
            wiki, mailoutbox, number, f"p{number}@example.com"
        )
        assert signed_in.status_code == 302
    _guess_wrong(wiki, mailoutbox, clients=range(10, 11))

    assert _right_code_from_a_fresh_client(wiki, mailoutbox, 20).status_code == 302


def test_the_pause_ends_and_the_budget_refills(wiki, mailoutbox, clock):
    _guess_wrong(wiki, mailoutbox, clients=range(10))
    _assert_paused(_right_code_from_a_fresh_client(wiki, mailoutbox, 100))

    clock.advance(timedelta(hours=2))

    assert _right_code_from_a_fresh_client(wiki, mailoutbox, 101).status_code == 302


def test_a_paused_check_spends_nothing_of_the_pin(wiki, mailoutbox, settings):
    settings.ACCESS_PIN_FAILURES_PER_ADDRESS = 1
    client = Client(wiki, 1)
    client.send_pin("ann@example.com")
    code = code_from(mailoutbox[-1])
    client.verify_pin("ann@example.com", _wrong(code))

    answers = [client.verify_pin("ann@example.com", code).status_code for _ in range(6)]

    assert answers == [429] * 6
    # Refused before the PIN was touched: one attempt spent of five, the wrong code's.
    assert OneTimePin.objects.get(email="ann@example.com").attempts == 1


# The budget itself, with explicit moments.

HOUR = timedelta(hours=1)


def _budget(limit=2):
    return FailureBudget(
        "t", limit, HOUR, first_pause=timedelta(minutes=15), max_pause=timedelta(hours=4)
    )


def test_spending_past_the_limit_starts_a_pause(clock):
    budget = _budget()
    now = clock.now

    outcomes = [budget.spend("k", now=now) for _ in range(3)]

    assert outcomes == [Spent.SPENT, Spent.SPENT, Spent.PAUSED]
    assert budget.is_paused("k", now=now + timedelta(minutes=14))
    assert not budget.is_paused("k", now=now + timedelta(minutes=15))
    assert budget.spend("k", now=now + timedelta(minutes=1)) is Spent.REFUSED
    assert budget.spend("other", now=now) is Spent.SPENT


def test_a_refund_gives_the_attempt_back(clock):
    budget = _budget()
    now = clock.now
    for _ in range(5):
        assert budget.spend("k", now=now) is Spent.SPENT
        budget.refund("k", now=now)

    assert budget.spend("k", now=now) is Spent.SPENT


def test_the_budget_holds_within_each_window_whatever_the_pauses(clock):
    # Pauses of 15 minutes end long before the hour: the limit still holds until it slides.
    budget = _budget()
    start = clock.now
    budget.spend("k", now=start)
    budget.spend("k", now=start)
    assert budget.spend("k", now=start) is Spent.PAUSED

    after_pause = start + timedelta(minutes=20)

    assert budget.spend("k", now=after_pause) is Spent.PAUSED
    assert budget.is_paused("k", now=after_pause + timedelta(minutes=29))


def test_each_pause_in_a_day_doubles_up_to_the_maximum(clock):
    budget = _budget(limit=1)
    now = clock.now
    lengths = []
    for _ in range(7):
        while (outcome := budget.spend("k", now=now)) is not Spent.PAUSED:
            assert outcome is Spent.SPENT
        paused_at = now
        while budget.is_paused("k", now=now):
            now += timedelta(minutes=1)
        lengths.append(now - paused_at)
        now += 2 * HOUR  # the window is empty again

    minutes = [int(length / timedelta(minutes=1)) for length in lengths]
    assert minutes == [15, 30, 60, 120, 240, 240, 240]
    assert lengths[0] == PIN_BUDGET_FIRST_PAUSE


def test_a_refused_budget_gives_back_what_the_narrower_ones_spent(clock):
    narrow, wide = _budget(limit=5), _budget(limit=1)
    wide = FailureBudget("wide", 1, HOUR, first_pause=HOUR, max_pause=HOUR)
    now = clock.now
    assert spend_budgets([(narrow, "n"), (wide, "w")], now=now) == (True, [])

    allowed, paused = spend_budgets([(narrow, "n"), (wide, "w")], now=now)

    assert (allowed, paused) == (False, [wide])
    for _ in range(4):  # 5 - the one attempt that was checked
        assert narrow.spend("n", now=now) is Spent.SPENT
    assert narrow.spend("n", now=now) is Spent.PAUSED


def test_ipv6_clients_are_grouped_by_slash_56_by_default():
    assert throttle_key_for_ip(IPv6Address("2001:db8:0:ff:1::1")) == "2001:db8::/56"
