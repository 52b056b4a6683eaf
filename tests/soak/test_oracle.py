"""The soak's oracle: which requests that reached the view were fail-opens."""

from __future__ import annotations

import pytest

from tests.soak.oracle import Change, Kind, Sent, What, fail_opens, is_fail_open

BOUND = 1.0
ANN = "ann@example.org"


def sent(kind: Kind, *, at: float = 10.0, served: str | None = ANN, **fields: object) -> Sent:
    values: dict[str, object] = {"subject": ANN, "nonce": "n-ann", **fields}
    return Sent(
        kind=kind,
        instance="a",
        started=at,
        duration=0.01,
        status=200 if served is not None else 302,
        served=served,
        subject=str(values["subject"]),
        nonce=str(values["nonce"]),
    )


def test_a_request_the_gate_answered_is_never_a_fail_open():
    revoked = [Change(What.REVOCATION, 0.0, ANN)]

    assert not is_fail_open(sent(Kind.PROTECTED, served=None), revoked, bound=BOUND)


@pytest.mark.parametrize("kind", [Kind.UNAUTHENTICATED, Kind.PREFLIGHT])
def test_a_request_whose_view_must_never_run_is_a_fail_open_when_it_does(kind):
    assert is_fail_open(sent(kind, served="", subject=""), [], bound=BOUND)


def test_an_open_path_is_served_anonymously():
    assert not is_fail_open(sent(Kind.OPEN, served="", subject=""), [], bound=BOUND)
    assert is_fail_open(sent(Kind.OPEN, served=ANN, subject=""), [], bound=BOUND)


def test_served_as_someone_else_than_the_cookie_is_a_fail_open():
    assert is_fail_open(sent(Kind.PROTECTED, served="bob@example.com"), [], bound=BOUND)
    assert not is_fail_open(sent(Kind.PROTECTED), [], bound=BOUND)


def test_a_service_token_is_served_as_its_client_id():
    robot = sent(Kind.SERVICE, served="client.access", subject="client.access")
    impostor = sent(Kind.SERVICE, served="", subject="client.access")

    assert not is_fail_open(robot, [], bound=BOUND)
    assert is_fail_open(impostor, [], bound=BOUND)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        (Kind.REVOKED, Change(What.REVOCATION, 5.0, ANN)),
        (Kind.PROTECTED, Change(What.REVOCATION, 5.0, ANN)),
        (Kind.REPLAY, Change(What.LOGOUT, 5.0, "n-ann")),
        (Kind.POLICY, Change(What.POLICY, 5.0, "example.org")),
    ],
)
def test_a_change_forbids_from_its_bound_on(kind, change):
    assert not is_fail_open(sent(kind, at=4.9), [change], bound=BOUND)  # before it
    assert not is_fail_open(sent(kind, at=5.9), [change], bound=BOUND)  # while it propagates
    assert is_fail_open(sent(kind, at=6.0), [change], bound=BOUND)
    assert is_fail_open(sent(kind, at=60.0), [change], bound=BOUND)


def test_a_change_forbids_only_whom_it_names():
    others = [
        Change(What.REVOCATION, 0.0, "bob@example.org"),
        Change(What.LOGOUT, 0.0, "n-bob"),
        Change(What.POLICY, 0.0, "example.net"),
        Change(What.ROTATION, 0.0, "kid-2"),
        Change(What.APPLY, 0.0, "/demo/echo/bulk"),
    ]

    for kind in (Kind.PROTECTED, Kind.POLICY, Kind.REVOKED, Kind.REPLAY):
        assert not is_fail_open(sent(kind), others, bound=BOUND)


def test_a_policy_change_forbids_only_its_application():
    change = [Change(What.POLICY, 0.0, "example.org")]

    assert not is_fail_open(sent(Kind.PROTECTED), change, bound=BOUND)
    assert is_fail_open(sent(Kind.POLICY), change, bound=BOUND)


def test_a_logout_forbids_only_a_cookie_of_that_sign_in():
    change = [Change(What.LOGOUT, 0.0, "n-ann")]

    assert not is_fail_open(sent(Kind.PROTECTED, nonce="n-other"), change, bound=BOUND)
    assert not is_fail_open(
        sent(Kind.PROTECTED, nonce=""), [Change(What.LOGOUT, 0.0, "")], bound=BOUND
    )
    assert is_fail_open(sent(Kind.PROTECTED), change, bound=BOUND)


def test_applied_applications_are_served_anonymously_until_enforced():
    applied = [Change(What.APPLY, 5.0, "/demo/echo/bulk")]
    anonymous = {"served": "", "subject": "", "nonce": ""}

    assert not is_fail_open(sent(Kind.NEW_APP, at=3.0, **anonymous), applied, bound=BOUND)
    assert is_fail_open(sent(Kind.NEW_APP, at=6.5, **anonymous), applied, bound=BOUND)
    assert not is_fail_open(
        sent(Kind.NEW_APP, at=6.5, served=None, subject=""), applied, bound=BOUND
    )


def test_fail_opens_lists_exactly_the_fail_opens():
    change = [Change(What.REVOCATION, 0.0, ANN)]
    requests = [
        sent(Kind.REVOKED, served=None),
        sent(Kind.REVOKED),
        sent(Kind.OPEN, served="", subject=""),
    ]

    assert fail_opens(requests, change, bound=BOUND) == [requests[1]]
