"""The identity app's global knobs, read lazily from Django settings (as `corsheaders.conf`).

Nothing reads settings at import time, so `override_settings` in tests and per-process settings
both work. Per-application configuration lives in the database, not here.

Settings (all optional):
- `ACCESS_TEAM_DOMAIN`: the login host (`access.example.com`, port allowed); "" = each
  application's own host.
- `ACCESS_APPLICATION_PORTS`: ports, besides the one a request arrived on, that application hosts
  are served on; the sign-in flow sends browsers to no other port.
- `ACCESS_KEY_ROTATION`: Go duration after which the signing key rotates (default "1008h").
- `ACCESS_TRUSTED_PROXIES`: CIDRs of reverse proxies whose `X-Forwarded-For` is believed.
- `ACCESS_COUNTRY_HEADER`: the request header carrying the client's country, set by a trusted
  edge (e.g. "CF-IPCountry"); "" = no country is known.
- `ACCESS_IDP_TIMEOUT`: seconds a sign-in waits for an upstream identity provider (its
  discovery document, keys, token endpoint, GitHub's API) before giving up (default 5).
- `ACCESS_APP_LAUNCHER`: `/` on the login host is the App Launcher (default off: a short page
  saying what the host is). It needs `ACCESS_TEAM_DOMAIN`.
- `ACCESS_CREATE_USERS`: with `identity.users.AccessUserBackend`, create a Django user for an
  address that passed the gate and has none (default off).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from policies.durations import parse_duration

DEFAULT_KEY_ROTATION = "1008h"  # 6 weeks, as Access does
PREVIOUS_KEY_GRACE = timedelta(days=7)
DEFAULT_SESSION_DURATION = timedelta(hours=24)
DEFAULT_THROTTLE_IPV6_PREFIX = 56
DEFAULT_IDP_TIMEOUT = 5.0
IPV6_PREFIX_RANGE = (32, 64)
DEFAULT_PIN_FAILURES = {
    "ACCESS_PIN_FAILURES_PER_ADDRESS": 10,
    "ACCESS_PIN_FAILURES_PER_APPLICATION": 10,
    "ACCESS_PIN_FAILURES_OVERALL": 20,
}


class IdentitySettings:
    """Typed, lazy view over the `ACCESS_*` settings the identity app uses."""

    @property
    def team_domain(self) -> str:
        return str(getattr(settings, "ACCESS_TEAM_DOMAIN", "") or "").strip().lower()

    @property
    def application_ports(self) -> frozenset[int]:
        """`ACCESS_APPLICATION_PORTS`: ports besides the request's own that application hosts
        are served on (a proxy that serves some hosts on another port)."""
        value = getattr(settings, "ACCESS_APPLICATION_PORTS", ())
        items = value.split(",") if isinstance(value, str) else value
        return _parse_ports(tuple(str(item).strip() for item in items))

    @property
    def key_rotation(self) -> timedelta:
        text = str(getattr(settings, "ACCESS_KEY_ROTATION", DEFAULT_KEY_ROTATION) or "")
        try:
            interval = parse_duration(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"ACCESS_KEY_ROTATION: {error}") from error
        if interval <= timedelta(0):
            raise ImproperlyConfigured("ACCESS_KEY_ROTATION must be a positive duration.")
        return interval

    @property
    def previous_key_grace(self) -> timedelta:
        return PREVIOUS_KEY_GRACE

    @property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        value = getattr(settings, "ACCESS_TRUSTED_PROXIES", ())
        items = value.split(",") if isinstance(value, str) else value
        return _parse_networks(tuple(str(item).strip() for item in items))

    @property
    def country_header(self) -> str:
        return str(getattr(settings, "ACCESS_COUNTRY_HEADER", "") or "").strip()

    @property
    def idp_timeout(self) -> float:
        """`ACCESS_IDP_TIMEOUT`: seconds to wait for an identity provider (0.1 to 60)."""
        value = getattr(settings, "ACCESS_IDP_TIMEOUT", DEFAULT_IDP_TIMEOUT)
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ImproperlyConfigured("ACCESS_IDP_TIMEOUT must be a number of seconds") from None
        if not 0.1 <= seconds <= 60:
            raise ImproperlyConfigured("ACCESS_IDP_TIMEOUT must be between 0.1 and 60 seconds")
        return seconds

    @property
    def app_launcher(self) -> bool:
        """Whether `/` on the login host is the App Launcher: `ACCESS_APP_LAUNCHER`, and only
        with a login host of its own (`ACCESS_TEAM_DOMAIN`)."""
        return getattr(settings, "ACCESS_APP_LAUNCHER", False) is True and bool(self.team_domain)

    @property
    def create_users(self) -> bool:
        return getattr(settings, "ACCESS_CREATE_USERS", False) is True

    @property
    def default_session_duration(self) -> timedelta:
        return DEFAULT_SESSION_DURATION

    @property
    def throttle_ipv6_prefix(self) -> int:
        low, high = IPV6_PREFIX_RANGE
        return _integer_setting("ACCESS_THROTTLE_IPV6_PREFIX", low=low, high=high)

    @property
    def pin_failures_per_address(self) -> int:
        return _integer_setting("ACCESS_PIN_FAILURES_PER_ADDRESS", low=1)

    @property
    def pin_failures_per_application(self) -> int:
        return _integer_setting("ACCESS_PIN_FAILURES_PER_APPLICATION", low=1)

    @property
    def pin_failures_overall(self) -> int:
        return _integer_setting("ACCESS_PIN_FAILURES_OVERALL", low=1)

    @property
    def activity_flush_seconds(self) -> int:
        """How often a process adds its in-memory activity counts to the database; 0: only
        when `identity.activity.flush_activity` is called (tests)."""
        return _integer_setting("ACCESS_ACTIVITY_FLUSH_SECONDS", low=0, high=3600)

    @property
    def activity_retention_days(self) -> int:
        """How many days of activity counts the dashboard keeps."""
        return _integer_setting("ACCESS_ACTIVITY_RETENTION_DAYS", low=1, high=3660)


_INTEGER_DEFAULTS = {
    "ACCESS_THROTTLE_IPV6_PREFIX": DEFAULT_THROTTLE_IPV6_PREFIX,
    "ACCESS_ACTIVITY_FLUSH_SECONDS": 10,
    "ACCESS_ACTIVITY_RETENTION_DAYS": 30,
    **DEFAULT_PIN_FAILURES,
}


def _integer_setting(name: str, *, low: int, high: int | None = None) -> int:
    """An integer setting within [low, high]; anything else is a configuration error."""
    value = getattr(settings, name, _INTEGER_DEFAULTS[name])
    # A bool is an int to Python, and "10" from an environment file is not yet one: refuse both
    # rather than guess.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {value}.")
    return value


@functools.lru_cache(maxsize=8)
def _parse_ports(items: tuple[str, ...]) -> frozenset[int]:
    ports = set()
    for text in items:
        if not text:
            continue
        if not text.isdigit() or not 0 < int(text) <= 65535:
            raise ImproperlyConfigured(
                f"ACCESS_APPLICATION_PORTS: {text!r} is not a port number (1 to 65535)."
            )
        ports.add(int(text))
    return frozenset(ports)


@functools.lru_cache(maxsize=8)
def _parse_networks(items: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    # Cached: the client address is worked out on every gated request.
    networks = []
    for text in items:
        if not text:
            continue
        try:
            networks.append(ip_network(text))
        except ValueError as error:
            raise ImproperlyConfigured(f"ACCESS_TRUSTED_PROXIES: {error}") from error
    return tuple(networks)


conf = IdentitySettings()
