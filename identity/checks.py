"""System checks for the identity settings: caught at start-up, not on the first sign-in.

`check_installation` covers a site that adds the apps to its own project
(docs/protect-your-service.md): the gate middleware in `MIDDLEWARE` and before sessions and
authentication, the sign-in endpoints at `/cdn-cgi/access/`, and the optional Django-user
middleware after both the gate and `AuthenticationMiddleware`, with its backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from common.versioning import DEFAULT_CHECK_INTERVAL, MAX_STALENESS
from identity.conf import conf
from identity.hosts import canonical_authority
from identity.users import BACKEND_PATH, MIDDLEWARE_PATH, AccessUserMiddleware, configured_backend
from policies.hosts import normalize_host


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
    if getattr(settings, "ACCESS_APP_LAUNCHER", False) is True and not conf.team_domain:
        messages.append(
            CheckWarning(
                "ACCESS_APP_LAUNCHER is on without ACCESS_TEAM_DOMAIN: the App Launcher lives at /"
                " on the login host, so there is none.",
                hint="Set ACCESS_TEAM_DOMAIN to the login host, or turn ACCESS_APP_LAUNCHER off.",
                id="identity.W004",
            )
        )
    interval = getattr(settings, "ACCESS_VERSION_CHECK_INTERVAL", DEFAULT_CHECK_INTERVAL)
    if not 0 < interval <= MAX_STALENESS:
        messages.append(
            CheckWarning(
                f"ACCESS_VERSION_CHECK_INTERVAL is {interval}: changes and revocations would take"
                " longer than a second to reach every process.",
                hint=f"Use a value above 0 and at most {MAX_STALENESS:g} (seconds);"
                f" {DEFAULT_CHECK_INTERVAL:g} is the default.",
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
    # Every login URL and the tokens' issuer name the login host as written here, and the login
    # page compares it with the Host browsers send: only the spelling they write will do.
    if canonical_authority(team_domain, scheme="https") is None:
        return [
            Error(
                f"ACCESS_TEAM_DOMAIN {team_domain!r} is not a host name in the form browsers"
                " write it.",
                hint="Write it without a trailing dot, the default port 443 or leading zeros in"
                " the port, e.g. access.example.com or access.example.com:8443.",
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


GATE_MIDDLEWARE = "identity.middleware.AccessGateMiddleware"
# What must not run before the gate: a refused request should cost no session or user lookup, and
# nothing that decides about authentication (Django's LoginRequiredMiddleware, RemoteUserMiddleware,
# a site's own) may answer before it.
_BEFORE_THESE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)
# Every sign-in endpoint, where the gate's redirects and the documented proxy configurations send
# browsers and proxies (`/cdn-cgi/access/` + the name in identity/urls.py).
ACCESS_URLS = {
    "/cdn-cgi/access/login": "access:login",
    "/cdn-cgi/access/authorized": "access:authorized",
    "/cdn-cgi/access/logout": "access:logout",
    "/cdn-cgi/access/certs": "access:certs",
    "/cdn-cgi/access/get-identity": "access:get-identity",
    "/cdn-cgi/access/forward-auth": "access:forward-auth",
    "/cdn-cgi/access/auth-request": "access:auth-request",
}


@register(Tags.security)
def check_installation(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse a site whose gate would protect nothing, or would run too late."""
    classes = _middleware_classes()
    gate = _first_index(classes, import_string(GATE_MIDDLEWARE))
    messages: list[CheckMessage] = []
    if gate is None:
        messages.append(
            Error(
                f"{GATE_MIDDLEWARE} is not in MIDDLEWARE: no request is checked, every"
                " application's paths are open.",
                hint="Add it to MIDDLEWARE right after SecurityMiddleware (and WhiteNoise).",
                id="identity.E003",
            )
        )
    else:
        for path in _BEFORE_THESE:
            index = _first_index(classes, import_string(path))
            if index is not None and index < gate:
                messages.append(
                    Error(
                        f"{GATE_MIDDLEWARE} comes after {path.rsplit('.', 1)[-1]} in MIDDLEWARE:"
                        " sessions and authentication would run for requests the gate refuses,"
                        " and a middleware between them could answer before the gate.",
                        hint="Move the gate before SessionMiddleware and AuthenticationMiddleware.",
                        id="identity.E004",
                    )
                )
                break
    messages.extend(_url_messages())
    user_middleware = _first_index(classes, AccessUserMiddleware)
    if user_middleware is not None:
        messages.extend(_user_middleware_messages(classes, user_middleware, gate))
        if configured_backend() is None:
            messages.append(
                Error(
                    f"{MIDDLEWARE_PATH} is in MIDDLEWARE but {BACKEND_PATH} is not in"
                    " AUTHENTICATION_BACKENDS: request.user would stay anonymous.",
                    hint=f"Add {BACKEND_PATH} to AUTHENTICATION_BACKENDS.",
                    id="identity.E007",
                )
            )
    return messages


def _middleware_classes() -> list[type | None]:
    classes: list[type | None] = []
    for path in settings.MIDDLEWARE:
        try:
            found = import_string(path)
        except ImportError:
            found = None  # Django reports it when the handler loads
        classes.append(found if isinstance(found, type) else None)
    return classes


def _first_index(classes: list[type | None], wanted: type) -> int | None:
    for index, found in enumerate(classes):
        if found is not None and issubclass(found, wanted):
            return index
    return None


def _url_messages() -> list[CheckMessage]:
    missing = []
    for path, name in ACCESS_URLS.items():
        try:
            match = resolve(path)
        except Resolver404:
            missing.append(path)
            continue
        if match.view_name != name:
            missing.append(path)
    if not missing:
        return []
    return [
        Error(
            f"{', '.join(missing)} do not reach the sign-in endpoints: the gate sends browsers"
            " there and the login would answer 404.",
            hint='Add path("cdn-cgi/access/", include("identity.urls")) to your ROOT_URLCONF,'
            " outside i18n_patterns and any prefix.",
            id="identity.E005",
        )
    ]


def _user_middleware_messages(
    classes: list[type | None], user_middleware: int, gate: int | None
) -> list[CheckMessage]:
    authentication = _first_index(classes, AuthenticationMiddleware)
    if (
        gate is not None
        and authentication is not None
        and gate < user_middleware
        and authentication < user_middleware
    ):
        return []
    return [
        Error(
            f"{MIDDLEWARE_PATH} must come after both {GATE_MIDDLEWARE} and"
            " AuthenticationMiddleware: it reads request.access and replaces request.user.",
            hint="Place it right after AuthenticationMiddleware.",
            id="identity.E006",
        )
    ]
