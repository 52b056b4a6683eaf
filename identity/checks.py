"""System checks for the identity settings: caught at start-up, not on the first sign-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from identity.conf import conf
from policies.matching import normalize_host

MAX_VERSION_CHECK_INTERVAL = 1.0


@register(Tags.security)
def check_identity_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse settings the gate cannot work with, and warn about self-defeating ones."""
    messages: list[CheckMessage] = []
    for setting, read in (
        ("ACCESS_KEY_ROTATION", lambda: conf.key_rotation),
        ("ACCESS_TRUSTED_PROXIES", lambda: conf.trusted_proxies),
        ("ACCESS_THROTTLE_IPV6_PREFIX", lambda: conf.throttle_ipv6_prefix),
        ("ACCESS_PIN_FAILURES_PER_ADDRESS", lambda: conf.pin_failures_per_address),
        ("ACCESS_PIN_FAILURES_PER_APPLICATION", lambda: conf.pin_failures_per_application),
        ("ACCESS_PIN_FAILURES_OVERALL", lambda: conf.pin_failures_overall),
        ("ACCESS_APPLICATION_PORTS", lambda: conf.application_ports),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            messages.append(
                Error(str(error), hint=f"Fix {setting} in the environment.", id="identity.E001")
            )
    messages.extend(_team_domain_messages())
    messages.extend(_pin_budget_messages())
    interval = getattr(settings, "ACCESS_VERSION_CHECK_INTERVAL", 0.5)
    if not 0 < interval <= MAX_VERSION_CHECK_INTERVAL:
        messages.append(
            CheckWarning(
                f"ACCESS_VERSION_CHECK_INTERVAL is {interval}: changes and revocations would take"
                " longer than a second to reach every process.",
                hint="Use a value above 0 and at most 1 (seconds); 0.5 is the default.",
                id="identity.W002",
            )
        )
    return messages


def _pin_budget_messages() -> list[CheckMessage]:
    try:
        per_application, overall = conf.pin_failures_per_application, conf.pin_failures_overall
    except ImproperlyConfigured:
        return []  # reported above
    if per_application <= overall:
        return []
    return [
        CheckWarning(
            f"ACCESS_PIN_FAILURES_PER_APPLICATION ({per_application}) is above"
            f" ACCESS_PIN_FAILURES_OVERALL ({overall}): the overall budget runs out first, so one"
            " application's sign-ins can pause every other's.",
            hint="Keep the per-application budget at most the overall one.",
            id="identity.W003",
        )
    ]


def _team_domain_messages() -> list[CheckMessage]:
    team_domain = conf.team_domain
    if not team_domain:
        return []
    host = normalize_host(team_domain)
    if host is None or "/" in team_domain:
        return [
            Error(
                f"ACCESS_TEAM_DOMAIN {team_domain!r} is not a host name.",
                hint="Give the login host only, e.g. access.example.com (a port is allowed).",
                id="identity.E002",
            )
        ]
    if not validate_host(host, settings.ALLOWED_HOSTS):
        return [
            CheckWarning(
                f"ACCESS_TEAM_DOMAIN {team_domain!r} is not in ALLOWED_HOSTS: the login page"
                " would answer 400.",
                hint="Add the login host to ALLOWED_HOSTS.",
                id="identity.W001",
            )
        ]
    return []
