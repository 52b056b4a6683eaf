"""Stored configuration that today's validation refuses: a row saved before a rule was made
stricter (here the host rules of `cors_headers.allowed_origins`), written with `update()` as a
migration or a hand edit would, bypassing validation.

The snapshot cannot compile such a row, so the gate fails closed: every gated request, on every
host, answers 503 and the log names the row. `manage.py check --deploy` (and `migrate`, and
`check --database default`) reports it first, each refused field path as `policies.E001`.
"""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from identity.cookies import CF_AUTHORIZATION
from policies import services
from policies.checks import (
    REFUSED_ROW_HINT,
    UNCOMPILABLE_HINT,
    check_stored_configuration,
    check_stored_configuration_for_deploy,
)
from policies.hosts import canonical_host_name
from policies.models import AccessGroup, Application, Policy
from policies.snapshot import invalidate_snapshot
from tests.gatekit import API_HOST, allow_policy, echo, make_application, token_for

pytestmark = pytest.mark.django_db

PROTECTED = "/demo/echo/api/x"
UNAVAILABLE_BODY = b"Service unavailable: access configuration cannot be loaded.\n"
IDEOGRAPHIC = "https://web\u3002example.com"  # U+3002 reads as a dot: two labels nobody wrote
TOO_LONG = "https://" + ".".join(letter * 62 for letter in "abcd") + ".com"  # 255 characters
REFUSED_CORS = {"allowed_origins": [IDEOGRAPHIC, TOO_LONG], "allowed_methods": ["GET"]}
NOT_AN_ORIGIN = "is not an origin: write scheme and host, like https://app.example.com"


@pytest.fixture
def stored_before_the_rule():
    """An application whose CORS origins were accepted once and are refused now."""
    application = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": ["https://web.example.com"], "allowed_methods": ["GET"]},
    )
    allow_policy(application)
    Application.objects.filter(pk=application.pk).update(cors_headers=REFUSED_CORS)
    invalidate_snapshot()
    return application


def test_the_stored_origins_are_what_the_host_rules_refuse():
    assert len(TOO_LONG.removeprefix("https://")) == 255
    assert canonical_host_name(TOO_LONG.removeprefix("https://")) is None
    assert canonical_host_name(IDEOGRAPHIC.removeprefix("https://")) is None


def test_the_gate_answers_503_to_every_gated_request_and_logs_the_row(
    client, caplog, stored_before_the_rule, views_reached
):
    make_application(name="Other", domain="other.localhost")  # valid, and refused with it
    client.cookies[CF_AUTHORIZATION] = token_for(stored_before_the_rule)
    invalidate_snapshot()
    views_reached.clear()

    answers = [
        echo(client, PROTECTED),  # the application itself, with a valid cookie
        echo(client, "/", HTTP_HOST="other.localhost"),  # another application
        echo(client, "/demo/echo/open"),  # a path no application covers
    ]

    for response in answers:
        assert response.status_code == 503
        assert response.content == UNAVAILABLE_BODY
        assert response["Retry-After"] == "5"
        assert response["Cache-Control"] == "no-store"
    assert views_reached == []
    pk = stored_before_the_rule.pk
    compile_error = (
        f"cannot compile Application {pk} ('API'): "
        f'cors_headers.allowed_origins[0]: "{IDEOGRAPHIC}" {NOT_AN_ORIGIN}; '
        f'cors_headers.allowed_origins[1]: "{TOO_LONG}" {NOT_AN_ORIGIN}'
    )
    # Each request tries to compile again, and fails again: nothing partial ever serves.
    gate_records = [
        (record.name, record.getMessage())
        for record in caplog.records
        if record.name.startswith("accessproject.") and record.levelno >= logging.ERROR
    ]
    assert (
        gate_records
        == [
            ("accessproject.snapshot", compile_error),
            ("accessproject.access", "configuration unavailable: refusing every gated request"),
        ]
        * 3
    )


def test_the_check_reports_each_refused_origin_by_application_and_field_path(
    stored_before_the_rule,
):
    messages = check_stored_configuration(databases=["default"])

    assert messages == [
        Error(
            f'Application "API": cors_headers.allowed_origins[0]: "{IDEOGRAPHIC}" {NOT_AN_ORIGIN}',
            hint=REFUSED_ROW_HINT,
            obj=stored_before_the_rule,
            id="policies.E001",
        ),
        Error(
            f'Application "API": cors_headers.allowed_origins[1]: "{TOO_LONG}" {NOT_AN_ORIGIN}',
            hint=REFUSED_ROW_HINT,
            obj=stored_before_the_rule,
            id="policies.E001",
        ),
    ]
    assert REFUSED_ROW_HINT == (
        "Validation refuses this stored value (saved before the rule was made stricter, or "
        "edited in the database). Correct it in the admin, the API or an access_apply file, "
        "which check it as they save; while the gate cannot compile a stored value it answers "
        "503 to every gated request."
    )


def test_the_check_names_a_refused_policy_by_its_path():
    application = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(application, name="people")
    allow_policy(application, name="ops", precedence=2)
    Policy.objects.filter(name="ops").update(include=[{"email": {"email": "not an address"}}])

    (message,) = check_stored_configuration(databases=["default"])

    assert message == Error(
        'Application "API": policies[1].include[0].email.email: email.email '
        "'not an address' is not an email address like ann@example.com",
        hint=REFUSED_ROW_HINT,
        obj=application,
        id="policies.E001",
    )


def test_a_clean_configuration_reports_nothing():
    allow_policy(make_application(domain=f"{API_HOST}/demo/echo/api"))

    assert check_stored_configuration(databases=["default"]) == []
    assert check_stored_configuration_for_deploy() == []


def test_a_row_only_the_compiler_refuses_is_reported_as_the_snapshot_names_it():
    allow_policy(make_application(domain=f"{API_HOST}/demo/echo/api"))
    group = AccessGroup.objects.create(name="Ops", include=[{"everyone": {}}])
    AccessGroup.objects.filter(pk=group.pk).update(include=[{"telepathy": {}}])

    (message,) = check_stored_configuration(databases=["default"])

    assert message == Error(
        f"The stored configuration cannot be compiled: cannot compile AccessGroup {group.pk} "
        "('Ops'): include[0]: unknown selector 'telepathy'; use one of: everyone, email, "
        "email_domain, ip, geo, group, service_token, any_valid_service_token, login_method, "
        "auth_method, oidc, github-organization, saml",
        hint=UNCOMPILABLE_HINT,
        id="policies.E002",
    )


@pytest.mark.parametrize("databases", [None, ["default"]], ids=["--deploy", "--database"])
def test_check_deploy_reports_it_once_without_and_with_the_database(
    stored_before_the_rule, databases
):
    messages = run_checks(include_deployment_checks=True, databases=databases)

    assert [message.id for message in messages if message.id.startswith("policies.E")] == [
        "policies.E001",
        "policies.E001",
    ]


def test_a_plain_check_without_the_database_reads_nothing(stored_before_the_rule):
    assert "policies.E001" not in [message.id for message in run_checks()]


def test_manage_py_check_deploy_fails_on_it(stored_before_the_rule):
    err = StringIO()
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--deploy", stdout=StringIO(), stderr=err)

    assert (
        f'API: (policies.E001) Application "API": '
        f'cors_headers.allowed_origins[0]: "{IDEOGRAPHIC}" {NOT_AN_ORIGIN}\n'
        f"\tHINT: {REFUSED_ROW_HINT}\n"
    ) in str(raised.value)


@pytest.mark.parametrize(
    "options",
    [
        ["--deploy"],
        ["--deploy", "--database", "default"],
        ["--deploy", "--tag", "security"],
        ["--deploy", "--tag", "security", "--database", "default"],
    ],
    ids=" ".join,
)
def test_manage_py_check_deploy_reports_each_refused_field_once(stored_before_the_rule, options):
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", *options, stdout=StringIO(), stderr=StringIO())

    assert str(raised.value).count("(policies.E001)") == 2


def test_correcting_the_row_through_the_services_lets_the_gate_serve_again(
    client, stored_before_the_rule
):
    client.cookies[CF_AUTHORIZATION] = token_for(stored_before_the_rule)
    assert echo(client, PROTECTED).status_code == 503

    services.application_update(
        application=stored_before_the_rule,
        cors_headers={"allowed_origins": ["https://web.example.com"], "allowed_methods": ["GET"]},
    )

    assert check_stored_configuration(databases=["default"]) == []
    assert echo(client, PROTECTED).status_code == 200
