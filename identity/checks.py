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
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            messages.append(
                Error(str(error), hint=f"Fix {setting} in the environment.", id="identity.E001")
            )
    messages.extend(_team_domain_messages())
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
