"""The Access cookies: names, how they are set and cleared, and how every value is read back.

A host may hold several `CF_Authorization` cookies (an org and an app token on the login host,
or applications whose cookies differ by path), and browsers send them all under one name.
Django's `request.COOKIES` keeps only one of them, so readers use `cookie_values()` on the raw
`Cookie` header and try each value in turn: a forged copy can never shadow a valid one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from django.conf import settings
from django.http import HttpResponseBase

if TYPE_CHECKING:
    from policies.snapshot import CompiledApplication

CF_AUTHORIZATION = "CF_Authorization"
CF_APP_SESSION = "CF_AppSession"
CF_BINDING = "CF_Binding"
TOKEN_HEADER = "cf-access-token"

SameSite = Literal["None", "Lax", "Strict"]
_SAME_SITE: dict[str, SameSite] = {"none": "None", "lax": "Lax", "strict": "Strict"}
# A Cookie header far larger than any browser sends is not worth parsing.
_MAX_COOKIE_HEADER = 64 * 1024
# The state cookie outlives any reasonable sign-in, and no more.
APP_SESSION_MAX_AGE = 3600


def cookie_values(cookie_header: str, name: str) -> list[str]:
    """Every value of cookie `name` in a raw `Cookie` header, in the order the browser sent them.

    Tolerant of malformed headers (stray semicolons, pairs without `=`, whitespace, quotes):
    what cannot be read is skipped, nothing raises.
    """
    return cookies_values(cookie_header, (name,))[0]


def cookies_values(cookie_header: str, names: tuple[str, ...]) -> tuple[list[str], ...]:
    """`cookie_values` for each of `names`, in that order, reading the header once."""
    found: tuple[list[str], ...] = tuple([] for _ in names)
    if not cookie_header or len(cookie_header) > _MAX_COOKIE_HEADER:
        return found
    for pair in cookie_header.split(";"):
        key, separator, value = pair.partition("=")
        if not separator:
            continue
        key = key.strip()
        if not key or key not in names:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if value:
            found[names.index(key)].append(value)
    return found


def _same_site(application: CompiledApplication) -> SameSite:
    return _SAME_SITE.get(str(application.same_site_cookie_attribute).lower(), "Lax")


def cookie_secure(scheme: str) -> bool:
    """Whether a cookie the project sets in answer to a request over `scheme` is Secure.

    Outside DEBUG always, whatever the request said: these cookies are credentials, and a site
    whose TLS ends at a proxy that does not say so (`SECURE_PROXY_SSL_HEADER` unset) must still
    never let a browser send them over plain HTTP. In DEBUG only over HTTPS, so the development
    server on plain `http://` keeps its sign-ins. `scheme` is the one the browser used: the
    request's (`identity.hosts.request_scheme`), or for forward-auth the scheme the proxy
    forwards (the protected service's), never the proxy's own hop to the gate.
    """
    return scheme == "https" or not settings.DEBUG


def _set(
    response: HttpResponseBase,
    name: str,
    value: str,
    *,
    max_age: int,
    scheme: str,
    same_site: SameSite = "Lax",
    http_only: bool = True,
) -> None:
    """Every Access cookie is host-wide (path /); SameSite=None is only ever sent with Secure."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=cookie_secure(scheme) or same_site == "None",
        httponly=http_only,
        samesite=same_site,
    )


def set_app_token_cookie(
    response: HttpResponseBase,
    *,
    token: str,
    application: CompiledApplication,
    scheme: str,
    max_age: int,
) -> None:
    """Set the application token on the application host, with the application's attributes.

    SameSite=None requires Secure (browsers drop it otherwise); Chromium and Firefox treat
    http://localhost as a secure context, so this also works in local development.
    """
    _set(
        response,
        CF_AUTHORIZATION,
        token,
        max_age=max_age,
        scheme=scheme,
        same_site=_same_site(application),
        http_only=application.http_only_cookie_attribute,
    )


def set_org_cookie(response: HttpResponseBase, *, token: str, scheme: str, max_age: int) -> None:
    """Set the org (global) session token on the login host: HttpOnly, SameSite=Lax."""
    _set(response, CF_AUTHORIZATION, token, max_age=max_age, scheme=scheme)


def set_binding_cookie(
    response: HttpResponseBase,
    *,
    value: str,
    application: CompiledApplication,
    scheme: str,
    max_age: int,
) -> None:
    """Set `CF_Binding` next to the app token: HttpOnly always, same SameSite as the token."""
    _set(
        response,
        CF_BINDING,
        value,
        max_age=max_age,
        scheme=scheme,
        same_site=_same_site(application),
    )


def clear_access_cookies(response: HttpResponseBase, *, scheme: str) -> None:
    """Expire the Access cookies of this host (token, binding and state)."""
    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):
        _set(response, name, "", max_age=0, scheme=scheme)


def set_app_session_cookie(response: HttpResponseBase, *, value: str, scheme: str) -> None:
    """Set `CF_AppSession`, the state that binds a sign-in to this browser, before the login.

    SameSite=Lax: it must come back on the top-level navigation to the authorized hop.
    """
    _set(response, CF_APP_SESSION, value, max_age=APP_SESSION_MAX_AGE, scheme=scheme)


def clear_app_session_cookie(response: HttpResponseBase, *, scheme: str) -> None:
    """Expire `CF_AppSession` once the authorized hop has redeemed its sign-in."""
    _set(response, CF_APP_SESSION, "", max_age=0, scheme=scheme)
