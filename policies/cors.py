"""CORS answers for an application's `cors_headers`, as Access gives them.

When an application has `cors_headers`, the gate answers preflights itself (a preflight never
carries the Access cookie, so the view could not be reached anyway): origin, method and every
requested header allowed gives the `Access-Control-*` headers below; anything else gives none.
The allowed origin is always echoed, never `*`, so credentials work and caches keep answers for
different origins apart (`PREFLIGHT_VARY`); it is echoed in its one spelling (`normalize_origin`),
which is the serialized origin a browser sends, never in another spelling a request wrote.

Comparisons follow the Fetch standard: origins by scheme, host and port (default ports and host
case normalized); methods byte for byte, except the six that browsers normalize to upper case;
header names case-insensitively.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from common.http import is_token
from policies.errors import Errors, add_error, check_unknown, errors_text, strings_at
from policies.hosts import canonical_host_name, read_authority

__all__ = [
    "PREFLIGHT_VARY",
    "CorsPolicy",
    "PreflightAnswer",
    "answer_preflight",
    "checked_cors_headers",
    "cors_headers_errors",
    "normalize_method",
    "normalize_origin",
    "origin_is_allowed",
    "response_cors_headers",
]

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials"
MAX_AGE = "Access-Control-Max-Age"
PREFLIGHT_VARY = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")

# What `cors_headers` holds: its keys, and what validation accepts in them.
CORS_METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
CORS_FIELDS: dict[str, type] = {
    "allowed_origins": list,
    "allow_all_origins": bool,
    "allowed_methods": list,
    "allow_all_methods": bool,
    "allowed_headers": list,
    "allow_all_headers": bool,
    "allow_credentials": bool,
    "max_age": int,
}
MAX_AGE_RANGE = (-1, 86400)

NULL_ORIGIN = "null"
ANY = "*"

_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
# Fetch normalizes these methods to upper case; every other method is compared byte for byte.
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` with the scheme and host lower-cased and a default port dropped.

    "null" stays "null". Anything else that is not exactly a serialized origin (a path, a
    query, user info, an empty or invalid host or port) gives None and so never matches.
    """
    if not isinstance(value, str):
        return None
    return _normalize_origin(value)


# Browsers send the same few origins over and over; the bound keeps made-up ones from piling up.
@functools.lru_cache(maxsize=4096)
def _normalize_origin(value: str) -> str | None:
    if value == NULL_ORIGIN:
        return NULL_ORIGIN
    scheme, separator, authority = value.partition("://")
    scheme = scheme.lower()
    if not separator or not _SCHEME.fullmatch(scheme) or not authority:
        return None
    if any(character in authority for character in "/?#@\\") or not authority.isprintable():
        return None
    # Read as every host is read. A trailing dot is refused (an empty label): to a browser
    # `https://example.com.` is another origin than `https://example.com`.
    read = read_authority(authority.lower(), scheme=scheme, read_host=canonical_host_name)
    if read is None:
        return None
    host, port = read
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def normalize_method(value: str) -> str | None:
    """A method as the Fetch standard compares it, or None when it is not an HTTP token."""
    if not isinstance(value, str) or not is_token(value):
        return None
    upper = value.upper()
    return upper if upper in _NORMALIZED_METHODS else value


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """An application's `cors_headers`, normalized for comparison."""

    allowed_origins: frozenset[str] = frozenset()
    allow_all_origins: bool = False
    allowed_methods: frozenset[str] = frozenset()
    allow_all_methods: bool = False
    allowed_headers: frozenset[str] = frozenset()
    allow_all_headers: bool = False
    allow_credentials: bool = False
    max_age: int | None = None

    @classmethod
    def from_data(cls, data: object) -> CorsPolicy:
        """Build from the `cors_headers` JSON of an application (docs/architecture.md), by the
        one set of rules validation uses (`checked_cors_headers`); raises `ValueError` naming
        every field that breaks them."""
        policy, errors = checked_cors_headers(data)
        if policy is None:
            raise ValueError(errors_text(errors, "cors_headers"))
        return policy


def checked_cors_headers(value: object) -> tuple[CorsPolicy | None, Errors]:
    """An application's `cors_headers` checked and compiled by one set of rules: the policy
    and no errors, or None and every problem keyed by its field (`allowed_origins[1]`,
    `max_age`, ...). Validation (every way in) and the snapshot's compiler both call this, so
    whatever validation accepts compiles and a stored object can never leave the snapshot
    unbuildable. `*` in `allowed_origins` or `allowed_headers` means all."""
    errors: Errors = {}
    if not isinstance(value, Mapping):
        add_error(errors, "", "must be an object with allowed_origins, allowed_methods, ...")
        return None, errors
    for key, expected in CORS_FIELDS.items():
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, expected) or (expected is int and isinstance(item, bool)):
            kind = {list: "a list", bool: "true or false", int: "a whole number"}[expected]
            add_error(errors, key, f"must be {kind}")
    check_unknown(errors, value, frozenset(CORS_FIELDS))
    origins = strings_at(errors, value, "allowed_origins")
    methods = strings_at(errors, value, "allowed_methods")
    headers = strings_at(errors, value, "allowed_headers")
    all_origins = value.get("allow_all_origins") is True or any(o == ANY for _, o in origins)
    all_methods = value.get("allow_all_methods") is True
    all_headers = value.get("allow_all_headers") is True or any(h == ANY for _, h in headers)
    normalized_origins: set[str] = set()
    for index, origin in origins:
        normalized = ANY if origin == ANY else normalize_origin(origin)
        if normalized is None:
            add_error(
                errors,
                f"allowed_origins[{index}]",
                f'"{origin}" is not an origin: write scheme and host, like https://app.example.com',
            )
        elif normalized != ANY:
            normalized_origins.add(normalized)
    for index, method in methods:
        if method not in CORS_METHODS:
            add_error(
                errors, f"allowed_methods[{index}]", f"must be one of {', '.join(CORS_METHODS)}"
            )
    for index, header in headers:
        if not is_token(header):
            add_error(errors, f"allowed_headers[{index}]", f'"{header}" is not a header name')
    allow_credentials = value.get("allow_credentials") is True
    if allow_credentials and all_origins:
        add_error(
            errors,
            "allow_credentials",
            "credentials cannot be allowed for all origins; list the origins instead",
        )
    has_origins = all_origins or bool(origins)
    has_methods = all_methods or bool(methods)
    if has_origins and not has_methods:
        add_error(errors, "allowed_methods", "set allowed_methods or allow_all_methods")
    if has_methods and not has_origins:
        add_error(errors, "allowed_origins", "set allowed_origins or allow_all_origins")
    if not has_origins and not has_methods:
        add_error(
            errors,
            "",
            "allow at least one origin and one method, or leave cors_headers empty",
        )
    max_age = value.get("max_age")
    low, high = MAX_AGE_RANGE
    if isinstance(max_age, int) and not isinstance(max_age, bool) and not low <= max_age <= high:
        add_error(errors, "max_age", f"must be between {low} and {high}")
    if errors:
        return None, errors
    return (
        CorsPolicy(
            allowed_origins=frozenset(normalized_origins),
            allow_all_origins=all_origins,
            allowed_methods=frozenset(method for _, method in methods),
            allow_all_methods=all_methods,
            allowed_headers=frozenset(h.lower() for _, h in headers if h != ANY),
            allow_all_headers=all_headers,
            allow_credentials=allow_credentials,
            max_age=max_age if isinstance(max_age, int) else None,
        ),
        errors,
    )


def cors_headers_errors(value: object) -> Errors:
    """Every problem with a `cors_headers` object, keyed by its field (`max_age`, ...)."""
    return checked_cors_headers(value)[1]


def origin_is_allowed(policy: CorsPolicy, origin: str | None) -> bool:
    """Whether the request's `Origin` is allowed; a missing or unparseable origin never is.

    "null" (sandboxed frames, redirects that crossed origins) is allowed only when listed or when
    all origins are.
    """
    return _allowed_origin(policy, origin) is not None


def _allowed_origin(policy: CorsPolicy, origin: str | None) -> str | None:
    """The request's `Origin` in its one spelling (`normalize_origin`) when it is allowed, else
    None. Answers name this spelling, never the request's: a browser sends an origin serialized
    (lower case, no default port), so the two agree for it, and any other text is not echoed."""
    if origin is None:
        return None
    normalized = normalize_origin(origin)
    if normalized is None:
        return None
    if policy.allow_all_origins or normalized in policy.allowed_origins:
        return normalized
    return None


@dataclass(frozen=True, slots=True)
class PreflightAnswer:
    """The gate's answer to a preflight: allowed with these headers, or refused with a reason."""

    allowed: bool
    headers: tuple[tuple[str, str], ...]
    reason: str


def _refuse(reason: str) -> PreflightAnswer:
    # A refusal carries no Access-Control-* header at all, so the browser blocks the request.
    return PreflightAnswer(allowed=False, headers=(), reason=reason)


def _requested_headers(value: str | None) -> list[str] | None:
    """The names listed in Access-Control-Request-Headers, or None when one is not a token."""
    if value is None:
        return []
    names = [item.strip(" \t") for item in value.split(",")]
    names = [name for name in names if name]
    return names if all(is_token(name) for name in names) else None


def answer_preflight(
    policy: CorsPolicy,
    *,
    origin: str | None,
    request_method: str | None,
    request_headers: str | None,
) -> PreflightAnswer:
    """Answer a preflight from its `Origin`, `Access-Control-Request-Method` and `-Headers`.

    Allowed: Access-Control-Allow-Origin (the origin as `normalize_origin` spells it),
    -Allow-Methods (the requested method), -Allow-Headers (the requested headers, when any),
    -Allow-Credentials and -Max-Age when configured. Refused: no headers and a reason for the
    access log.
    """
    allowed_origin = _allowed_origin(policy, origin)
    if allowed_origin is None:
        return _refuse("origin not allowed")
    method = normalize_method(request_method) if request_method else None
    if method is None or not (policy.allow_all_methods or method in policy.allowed_methods):
        return _refuse("method not allowed")
    names = _requested_headers(request_headers)
    if names is None:
        return _refuse("malformed Access-Control-Request-Headers")
    if not policy.allow_all_headers:
        for name in names:
            if name.lower() not in policy.allowed_headers:
                return _refuse(f"header {name.lower()} not allowed")
    headers: list[tuple[str, str]] = [(ALLOW_ORIGIN, allowed_origin), (ALLOW_METHODS, method)]
    if names:
        headers.append((ALLOW_HEADERS, ", ".join(names)))
    if policy.allow_credentials:
        headers.append((ALLOW_CREDENTIALS, "true"))
    if policy.max_age is not None:
        headers.append((MAX_AGE, str(policy.max_age)))
    return PreflightAnswer(allowed=True, headers=tuple(headers), reason="preflight allowed")


def response_cors_headers(policy: CorsPolicy, origin: str | None) -> tuple[tuple[str, str], ...]:
    """CORS headers for an actual (non-preflight) response: the echoed origin and credentials.

    Empty when the origin is not allowed. The caller adds `Vary: Origin`.
    """
    allowed_origin = _allowed_origin(policy, origin)
    if allowed_origin is None:
        return ()
    if policy.allow_credentials:
        return ((ALLOW_ORIGIN, allowed_origin), (ALLOW_CREDENTIALS, "true"))
    return ((ALLOW_ORIGIN, allowed_origin),)
