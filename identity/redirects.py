"""Where a browser may be sent after sign-in: the `redirect_url` check (pure, no ORM, no request).

The login page and the authorized hop both receive `redirect_url` from the query string, so both
treat it as hostile. A value passes when it is a plain relative path on the application host, or
an absolute `https` URL (`http` only for local hosts in DEBUG) whose host an application covers,
on a port the site serves. Everything else falls back to the application root: an open redirect
on the login page would hand a phishing site our domain, and a `javascript:` URL would run script
in it.

Browsers are more lenient than `urllib`: they strip tabs and newlines anywhere, treat `\\` as `/`,
and read `//host` or `/\\host` as another host. So the checks refuse those shapes outright, also
when percent-encoded, rather than trying to normalise them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sized
from typing import Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from identity.gate import place_request
from policies.hosts import DEFAULT_PORTS, normalize_host
from policies.snapshot import CompiledApplication, Snapshot

MAX_REDIRECT_LENGTH = 2048
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

# Raw: control characters (C0, DEL, C1) and whitespace, which browsers drop or reinterpret.
# Decoded: control characters (an encoded space is an ordinary part of a path or query).
_UNSAFE_RAW = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_UNSAFE_DECODED = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Percent-decoding rounds before giving up: a value still encoded after them is refused.
_DECODE_ROUNDS = 3


class HostCoverage(Protocol):
    """What the check needs from the snapshot: which applications cover a host."""

    def applications_for_host(self, host: str) -> Sized: ...


def _decoded_forms(value: str) -> list[str] | None:
    """The value and each percent-decoding of it; None if still encoded after every round."""
    forms = [value]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(forms[-1], errors="strict") if "%" in forms[-1] else forms[-1]
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return None


def _has_unsafe_text(value: str) -> bool:
    try:
        forms = _decoded_forms(value)
    except UnicodeDecodeError:
        return True
    if forms is None:
        return True
    if _UNSAFE_RAW.search(value):
        return True
    return any(_UNSAFE_DECODED.search(form) or "\\" in form for form in forms)


def _is_safe_relative(value: str) -> bool:
    if not value.startswith("/"):
        return False
    try:
        forms = _decoded_forms(value)
    except UnicodeDecodeError:
        return False
    # `//evil.example` and `/\evil.example` (also as `/%2f...`, `%2f%2f...`) name another host.
    return forms is not None and not any(form.startswith(("//", "/\\")) for form in forms)


def _is_local_host(host: str) -> bool:
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def _safe_absolute(
    value: str,
    *,
    app_host: str | None,
    scheme: str,
    snapshot: HostCoverage,
    ports: Collection[int | None],
    debug: bool,
) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    if port == DEFAULT_PORTS[parts.scheme]:
        port = None
    # Another port of a covered host may be another service: only the ones this site serves.
    if port not in ports:
        return None
    # Userinfo (`https://good.example@evil.example`) misleads readers and some parsers.
    if "@" in parts.netloc or "%" in parts.netloc:
        return None
    # normalize_host strips the port and keeps IPv6 brackets (`[::1]`).
    host = normalize_host(parts.netloc) if parts.netloc.isascii() else None
    if host is None:
        return None
    if parts.scheme == "http" and not (debug and scheme == "http" and _is_local_host(host)):
        return None
    if host != app_host and not snapshot.applications_for_host(host):
        return None
    if parts.path and not _is_safe_relative(parts.path):
        return None
    netloc = host if port is None else f"{host}:{port}"
    # Rebuilt from the parsed parts, so what we send is exactly what we checked.
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def safe_redirect_url(
    value: str | None,
    *,
    app_host: str,
    scheme: str,
    snapshot: HostCoverage,
    ports: Collection[int | None],
    debug: bool,
    fallback: str = "/",
) -> str:
    """Return `value` when it is a safe place to send the browser after sign-in, else `fallback`.

    A relative path is returned as given (it stays on `app_host`); an absolute URL, on
    `app_host` or on a host an application covers, is returned rebuilt from its checked parts.
    `scheme` is the scheme the application is served over: a plain `http` target is accepted
    only in DEBUG, for local hosts, when that scheme is `http` too. `ports` are the ports an
    absolute URL may name (`None`: the scheme's default; see `identity.hosts.served_ports`).
    `fallback` is the application root (a relative path).
    """
    if not value or len(value) > MAX_REDIRECT_LENGTH or _has_unsafe_text(value):
        return fallback
    if value.startswith("/"):
        return value if _is_safe_relative(value) else fallback
    absolute = _safe_absolute(
        value,
        app_host=normalize_host(app_host),
        scheme=scheme,
        snapshot=snapshot,
        ports=ports,
        debug=debug,
    )
    return absolute if absolute is not None else fallback


def application_page_url(
    value: str | None,
    *,
    request_host: str,
    scheme: str,
    snapshot: Snapshot,
    ports: Collection[int | None],
    debug: bool,
) -> str | None:
    """`value` as the absolute URL of a page an application protects, or None.

    Where "Sign in again" leads after a logout: `value` (a `redirect_url`, or the `Referer` of
    the page that linked to the logout) passes `safe_redirect_url` as on the login page, with a
    relative path read on `request_host` (canonical `host[:port]`), and must then be a page the
    gate decides for some application: any other page would not sign anyone in, and a path with
    several readings, or one of the gate's own endpoints (the logout itself), is refused.
    The URL returned is rebuilt from its checked parts, never the text as sent.
    """
    safe = safe_redirect_url(
        value,
        app_host=request_host,
        scheme=scheme,
        snapshot=snapshot,
        ports=ports,
        debug=debug,
        fallback="",
    )
    if not safe:
        return None
    absolute = f"{scheme}://{request_host}{safe}" if safe.startswith("/") else safe
    parts = urlsplit(absolute)
    # The gate sees the decoded path (Django's `path_info`): placed as it will be placed.
    placed = place_request(parts.netloc, unquote(parts.path), snapshot)
    return absolute if isinstance(placed, CompiledApplication) else None


def application_root(domain: str) -> str:
    """The path an application's `domain` pattern starts at: its path up to the first `*`.

    `app.example.com` -> "/", `app.example.com/demo` -> "/demo", `app.example.com/api/*/v1` ->
    "/api/". Used as the fallback when `redirect_url` is missing or refused.
    """
    _, slash, path = domain.partition("/")
    if not slash:
        return "/"
    path = "/" + path
    if "*" in path:
        path = path[: path.index("*")]
        path = path[: path.rfind("/") + 1]
    return path or "/"
