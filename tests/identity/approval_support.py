"""Helpers for the temporary-approval tests: ask on someone's behalf, read the emailed links."""

from __future__ import annotations

import re
from datetime import timedelta

from identity import approvals
from identity.login_urls import APPROVAL_PATH
from policies import services
from policies.approvals import ApprovalGroup
from policies.models import Policy
from tests.gatekit import committed, response_sent
from tests.identity.signin_support import make_application

ORIGIN = "https://access.localhost"
# Everyone the tests' requests name as an approver: the vault's policy lists them all, as the
# approver's link decides only for an address the application's policies still name.
APPROVERS = ("bob@example.com", "cy@example.com", "di@example.com", "eve@example.com")
LINK = re.compile(re.escape(f"{ORIGIN}{APPROVAL_PATH}/") + r"([A-Za-z0-9_-]{43})")
ONE_OF_TWO = [ApprovalGroup(1, ("bob@example.com", "cy@example.com"))]


def set_approvers(application, addresses=APPROVERS):
    """The application's one policy asks for an approval by any one of `addresses`."""
    with committed():
        services.policy_update(
            policy=Policy.objects.get(application=application),
            purpose_justification_required=True,
            approval_required=True,
            approval_groups=[{"approvals_needed": 1, "email_addresses": list(addresses)}],
        )


def make_vault():
    """Vault, whose policy lets anyone at example.com in once one of `APPROVERS` approves."""
    application = make_application(domain="vault.localhost/demo", name="Vault")
    set_approvers(application)
    return application


def ask(application, groups, *, email="ann@example.com", duration=timedelta(hours=4)):
    """Ann asks to enter `application` (through the service), and the links are emailed."""
    request = approvals.approval_request_create(
        email=email,
        application_id=application.pk,
        policy_name="people",
        approval_groups=groups,
        justification="  Incident 42: read the logs  ",
        requested_duration=duration,
        login_origin=ORIGIN,
        return_url="https://vault.localhost/demo/page",
    )
    response_sent()  # the answer has gone out: the links are emailed
    return request


def links(mailoutbox):
    """Each emailed approver's link token, by address."""
    found = {}
    for message in mailoutbox:
        match = LINK.search(message.body)
        if match is not None:
            found[message.to[0]] = match.group(1)
    return found


def approve(mailoutbox, *, hours, approver="bob@example.com"):
    """`approver` approves through the link they were emailed, for `hours`."""
    return approvals.approval_decide(
        token=links(mailoutbox)[approver],
        signed_in_as=approver,
        approve=True,
        duration=timedelta(hours=hours),
    )
