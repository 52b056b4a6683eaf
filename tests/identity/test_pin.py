"""One-time PIN: sending, anti-enumeration, expiry, single use, attempts, throttles."""

import logging
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from identity.background import Task
from identity.flows.pin import (
    INVALID_CODE,
    MAX_ATTEMPTS,
    UNUSABLE_CODE_HASH,
    PinRequestOutcome,
    new_code,
    request_pin,
)
from identity.models import AuthEvent, OneTimePin
from identity.throttles import PIN_SEND_PER_ADDRESS, Throttle
from policies.snapshot import get_snapshot
from tests.gatekit import response_sent
from tests.identity.signin_support import (
    Browser,
    LoginFlow,
    code_from,
    make_application,
)


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def flow(db):
    return LoginFlow(Browser(), make_application(domain="app.localhost/demo", name="Wiki"))


def _other_code(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_codes_are_six_digits():
    assert all(len(new_code()) == 6 and new_code().isdigit() for _ in range(100))


def test_sending_a_code_emails_it_in_text_and_html(flow, mailoutbox):
    flow.open()
    response = flow.send_pin("Ann@Example.com")
    assert response.status_code == 200
    assert b"A code is on its way to <strong>" in response.content
    assert b'<label for="id_code">Code</label>' in response.content
    [message] = mailoutbox
    assert message.to == ["ann@example.com"]
    code = code_from(message)
    assert message.subject == f"Your sign-in code: {code}"
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert code in html
    assert "Wiki" in html


def test_the_code_is_stored_only_hashed(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    pin = OneTimePin.objects.get()
    assert code not in pin.code_hash
    assert pin.expires_at - pin.created_at == timedelta(minutes=10)
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.PIN_SENT, email="ann@example.com").exists()


def test_an_address_no_policy_allows_gets_the_same_page_and_no_email(flow, mailoutbox):
    allowed = flow.send_pin("ann@example.com")
    refused = flow.send_pin("eve@elsewhere.test")
    assert refused.status_code == allowed.status_code == 200
    assert b"A code is on its way to <strong>" in refused.content
    assert len(mailoutbox) == 1
    # Only a PIN that can never match, so that checking a code costs the same for any address.
    refused_pins = OneTimePin.objects.filter(email="eve@elsewhere.test")
    assert list(refused_pins.values_list("code_hash", flat=True)) == [UNUSABLE_CODE_HASH]


def test_the_right_code_signs_in_and_goes_to_the_authorized_hop(flow, mailoutbox):
    flow.send_pin()
    response = flow.verify_pin(code_from(mailoutbox[0]))
    assert response.status_code == 302
    assert response["Location"].startswith("https://app.localhost/cdn-cgi/access/authorized?code=")


def test_a_wrong_code_is_not_valid(flow, mailoutbox):
    flow.send_pin()
    response = flow.verify_pin(_other_code(code_from(mailoutbox[0])))
    assert response.status_code == 200
    assert INVALID_CODE.encode() in response.content


def test_a_code_works_once(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    assert flow.verify_pin(code).status_code == 302
    response = flow.verify_pin(code)
    assert response.status_code == 200
    assert INVALID_CODE.encode() in response.content


def test_a_code_expires_after_ten_minutes(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = flow.verify_pin(code)
    assert response.status_code == 200
    assert INVALID_CODE.encode() in response.content


def test_a_code_still_works_just_before_it_expires(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    later = timezone.now() + timedelta(minutes=9, seconds=50)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert flow.verify_pin(code).status_code == 302


def test_a_code_is_dead_after_five_wrong_tries(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    for _ in range(MAX_ATTEMPTS):
        flow.verify_pin(_other_code(code))
    response = flow.verify_pin(code)
    assert response.status_code == 200
    assert INVALID_CODE.encode() in response.content


def test_the_fifth_try_may_still_be_right(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    for _ in range(MAX_ATTEMPTS - 1):
        flow.verify_pin(_other_code(code))
    assert flow.verify_pin(code).status_code == 302


def test_a_code_only_works_in_the_browser_that_asked(flow, mailoutbox):
    flow.send_pin()
    code = code_from(mailoutbox[0])
    thief = LoginFlow(Browser(), flow.application)
    response = thief.verify_pin(code)
    assert response.status_code == 200
    assert INVALID_CODE.encode() in response.content


def test_a_code_is_bound_to_its_address(flow, mailoutbox):
    flow.send_pin("ann@example.com")
    response = flow.verify_pin(code_from(mailoutbox[0]), email="bob@example.com")
    assert INVALID_CODE.encode() in response.content


def test_a_new_code_replaces_the_previous_one(flow, mailoutbox):
    with mock.patch("identity.flows.pin.new_code", side_effect=["111111", "222222"]):
        flow.send_pin()
        flow.send_pin()
    assert INVALID_CODE.encode() in flow.verify_pin("111111").content
    assert flow.verify_pin("222222").status_code == 302


def test_sending_is_throttled_per_address(flow, mailoutbox):
    for _ in range(5):
        assert flow.send_pin().status_code == 200
    response = flow.send_pin()
    assert response.status_code == 429
    assert b"Too many codes were requested" in response.content
    assert len(mailoutbox) == 5


def test_sending_is_throttled_per_client_ip(flow, mailoutbox):
    for number in range(20):
        assert flow.send_pin(f"person{number}@example.com").status_code == 200
    assert flow.send_pin("last@example.com").status_code == 429
    assert len(mailoutbox) == 20


def test_the_address_throttle_counts_addresses_no_policy_allows(flow, mailoutbox):
    for _ in range(5):
        flow.send_pin("eve@elsewhere.test")
    assert flow.send_pin("eve@elsewhere.test").status_code == 429


def test_the_address_throttle_ends_after_the_window(flow, mailoutbox):
    for _ in range(6):
        flow.send_pin()
    later = timezone.now() + timedelta(minutes=20, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert flow.send_pin().status_code == 200
    assert len(mailoutbox) == 6


def test_an_invalid_email_is_refused_without_sending(flow, mailoutbox):
    response = flow.send_pin("not-an-address")
    assert response.status_code == 400
    assert mailoutbox == []


def test_an_international_domain_is_written_as_mail_systems_write_it(db, mailoutbox):
    # IDNA 2003 would send this code to ann@class.example, somebody else's address, and sign in
    # that identity; UTS #46 keeps the domain the person typed.
    application = make_application(
        domain="app.localhost/demo", include=[{"email_domain": {"domain": "xn--cla-7ka.example"}}]
    )
    flow = LoginFlow(Browser(), application)
    flow.open()

    flow.send_pin("ann@cla\u00df.example")

    assert [message.to for message in mailoutbox] == [["ann@xn--cla-7ka.example"]]


# The throttle itself


def test_throttle_counts_hits_within_the_window():
    throttle = Throttle("t", 3, timedelta(minutes=10))
    now = timezone.now()
    assert [throttle.hit("k", now=now) for _ in range(3)] == [1, 2, 3]
    assert throttle.exceeded("k", now=now)


def test_throttle_keys_are_independent():
    throttle = Throttle("t", 3, timedelta(minutes=10))
    now = timezone.now()
    throttle.hit("a", now=now)
    assert throttle.count("b", now=now) == 0


def test_throttle_forgets_after_two_windows():
    throttle = Throttle("t", 3, timedelta(minutes=10))
    now = timezone.now()
    for _ in range(3):
        throttle.hit("k", now=now)
    assert throttle.count("k", now=now + timedelta(minutes=20, seconds=1)) == 0


def test_throttle_clear_forgets_the_key():
    now = timezone.now()
    PIN_SEND_PER_ADDRESS.hit("ann@example.com", now=now)
    PIN_SEND_PER_ADDRESS.clear("ann@example.com", now=now)
    assert PIN_SEND_PER_ADDRESS.count("ann@example.com", now=now) == 0


def _request_pin(application, email="ann@example.com"):
    snapshot = get_snapshot()
    return request_pin(
        snapshot=snapshot,
        application=snapshot.applications[application.pk],
        email=email,
        provider=snapshot.provider_named("One-time PIN"),
        flow_id="flow",
        ip=None,
        country="",
    )


def test_the_pin_task_is_enqueued_once_the_response_has_been_sent(flow, task_queue):
    assert _request_pin(flow.application) is PinRequestOutcome.SENT
    assert task_queue.results == []  # the view is still answering

    response_sent()  # the WSGI server has sent the answer

    [queued] = task_queue.results
    assert queued.task.module_path == "identity.flows.pin.issue_pin"
    assert queued.kwargs["email"] == "ann@example.com"
    assert "code" not in queued.kwargs  # the code is made by the task, never queued
    response_sent()
    assert len(task_queue.results) == 1  # enqueued once


def test_the_queued_pin_task_issues_a_code_that_signs_in(flow, task_queue, mailoutbox):
    flow.open()
    flow.send_pin()
    [queued] = task_queue.results
    assert mailoutbox == []
    assert not OneTimePin.objects.exists()

    queued.task.call(*queued.args, **queued.kwargs)  # what a worker does

    [message] = mailoutbox
    response = flow.verify_pin(code_from(message))
    assert response.status_code == 302


def test_a_pin_counts_its_ten_minutes_from_the_request_not_from_the_queue(
    flow, task_queue, mailoutbox, clock
):
    flow.open()
    flow.send_pin()
    [queued] = task_queue.results
    clock.advance(timedelta(minutes=10))  # the queue was slow

    queued.task.call(*queued.args, **queued.kwargs)

    assert OneTimePin.objects.get().expires_at == clock.now
    assert flow.verify_pin(code_from(mailoutbox[0])).status_code == 200  # expired already


def test_a_pin_that_cannot_be_emailed_is_logged_and_the_page_still_answers(
    flow, mailoutbox, caplog
):
    flow.open()
    with mock.patch.object(
        EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("no SMTP server")
    ):
        response = flow.send_pin()

    assert response.status_code == 200
    assert b"A code is on its way to <strong>" in response.content
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "identity.flows.pin.issue_pin" in failure.getMessage()
    assert failure.exc_info is not None
    assert failure.exc_info[0] is ConnectionRefusedError
    flow.send_pin()  # the next request's task runs as before
    assert len(mailoutbox) == 1


def test_a_task_queue_that_cannot_be_reached_is_logged_and_the_page_still_answers(
    flow, mailoutbox, caplog
):
    flow.open()
    with mock.patch.object(Task, "enqueue", side_effect=ConnectionError("queue down")):
        response = flow.send_pin()

    assert response.status_code == 200
    assert mailoutbox == []
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failure.getMessage() == (
        "the background task identity.flows.pin.issue_pin could not be enqueued"
    )
    flow.send_pin()
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("step", ["send_pin", "verify_pin", "password"])
def test_sign_in_waits_with_503_when_the_throttle_cache_is_unreachable(flow, mailoutbox, step):
    flow.open()
    flow.send_pin()  # a flow with a code in flight, so every step reaches its throttles
    mailoutbox.clear()
    unreachable = mock.Mock(side_effect=ConnectionError("cache down"))
    fields = {"email": "ann@example.com", "code": "123456", "username": "u", "password": "p"}

    with mock.patch.multiple(
        "identity.throttles.cache",
        get=unreachable,
        get_many=unreachable,
        add=unreachable,
        incr=unreachable,
        set=unreachable,
    ):
        response = flow.post(step, **fields)

    assert response.status_code == 503
    assert b"Sign-in is unavailable right now" in response.content
    assert mailoutbox == []


# --- the page after asking for a code, and the log line when no email went out -----------------

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _same_apart_from(response, address: str) -> str:
    """The page with the address replaced, and the CSRF token's per-render mask left out (Django
    masks the same token differently in every response)."""
    body = CSRF_FIELD.sub('name="csrfmiddlewaretoken" value=""', response.content.decode())
    assert address in body
    return body.replace(address, "ADDRESS")


def _cookie_attributes(response) -> dict[str, dict[str, object]]:
    """Each cookie's attributes but `expires`: two answers made a clock second apart differ there,
    while `max-age`, which says the same lifetime, is compared."""
    return {
        name: {key: value for key, value in morsel.items() if value and key != "expires"}
        for name, morsel in response.cookies.items()
    }


def test_the_page_is_byte_identical_whether_or_not_the_address_may_enter(flow, mailoutbox):
    flow.open()
    flow.send_pin("warm@example.com")  # the flow cookie exists before either request
    allowed = flow.send_pin("ann@example.com")
    refused = flow.send_pin("eve@example.org")  # as long as the other: Content-Length alike

    assert [message.to for message in mailoutbox] == [["warm@example.com"], ["ann@example.com"]]
    assert refused.status_code == allowed.status_code == 200
    assert _same_apart_from(refused, "eve@example.org") == _same_apart_from(
        allowed, "ann@example.com"
    )
    assert sorted(refused.headers.items()) == sorted(allowed.headers.items())
    assert _cookie_attributes(refused) == _cookie_attributes(allowed)


def test_the_page_says_which_address_and_what_to_do_if_nothing_arrives(flow):
    flow.open()
    response = flow.send_pin("eve@elsewhere.test")
    text = response.content.decode()

    assert (
        "A code is on its way to <strong>eve@elsewhere.test</strong> if that address may sign in"
        " to Wiki."
    ) in text
    assert "<h2>No email?</h2>" in text
    assert "Look in your spam or junk folder too." in text
    assert '<input type="hidden" name="step" value="send_pin">' in text
    assert '<button type="submit" class="secondary">Send a new code</button>' in text
    assert ">Use another email address</a>" in text
    # Why no email went out is for the server log only.
    assert "policy" not in text


def test_the_log_says_no_email_went_out_because_no_policy_allows_the_address(flow, caplog):
    flow.open()
    with caplog.at_level(logging.INFO, logger="accessproject.identity"):
        flow.send_pin("eve@elsewhere.test")

    [line] = [r for r in caplog.records if r.getMessage().startswith("no PIN email sent")]
    assert line.getMessage() == (
        "no PIN email sent to eve@elsewhere.test for Wiki: "
        "no policy of the application allows this address"
    )
    assert line.levelno == logging.INFO


def test_an_emailed_code_leaves_no_such_log_line(flow, caplog, mailoutbox):
    flow.open()
    with caplog.at_level(logging.INFO, logger="accessproject.identity"):
        flow.send_pin("ann@example.com")

    assert len(mailoutbox) == 1
    assert not [r for r in caplog.records if r.getMessage().startswith("no PIN email sent")]


def test_the_log_says_no_email_went_out_because_of_the_address_throttle(flow, caplog):
    for _ in range(5):
        flow.send_pin()
    with caplog.at_level(logging.INFO, logger="accessproject.identity"):
        response = flow.send_pin()

    assert response.status_code == 429
    [line] = [r for r in caplog.records if r.getMessage().startswith("no PIN email sent")]
    assert line.getMessage() == (
        "no PIN email sent to ann@example.com for Wiki: too many codes were asked for this address"
    )


def test_the_log_says_no_email_went_out_because_of_the_network_throttle(flow, caplog):
    for number in range(20):
        flow.send_pin(f"person{number}@example.com")
    with caplog.at_level(logging.INFO, logger="accessproject.identity"):
        flow.send_pin("last@example.com")

    [line] = [r for r in caplog.records if r.getMessage().startswith("no PIN email sent")]
    assert line.getMessage() == (
        "no PIN email sent to last@example.com for Wiki: "
        "too many codes were asked from this client's network"
    )


def test_the_log_says_no_email_went_out_when_the_mail_server_refuses(flow, caplog):
    flow.open()
    with (
        caplog.at_level(logging.INFO, logger="accessproject.identity"),
        mock.patch.object(
            EmailMultiAlternatives, "send", side_effect=ConnectionRefusedError("no SMTP server")
        ),
    ):
        response = flow.send_pin()

    assert b"no SMTP server" not in response.content
    [line] = [r for r in caplog.records if r.getMessage().startswith("no PIN email sent")]
    assert line.getMessage() == (
        "no PIN email sent to ann@example.com for Wiki: the email could not be handed to the"
        " mail server (ConnectionRefusedError: no SMTP server)"
    )
    assert line.levelno == logging.WARNING


def test_a_wrong_code_is_announced_on_the_code_field(flow, mailoutbox):
    flow.send_pin()
    response = flow.verify_pin(_other_code(code_from(mailoutbox[0])))
    text = response.content.decode()

    assert f'<p class="error" role="alert" id="id_code_error">{INVALID_CODE}</p>' in text
    assert 'aria-describedby="id_code_hint id_code_error" aria-invalid="true"' in text


def test_before_any_wrong_code_the_field_is_described_by_its_hint_alone(flow):
    text = flow.send_pin().content.decode()

    assert '<p class="hint" id="id_code_hint">The six digits in the email.</p>' in text
    assert 'aria-describedby="id_code_hint">' in text
    assert 'aria-invalid="true"' not in text
