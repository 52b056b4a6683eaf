"""The URLs of the sign-in flow, and the state that binds a login to the browser that started it.

The gate calls `new_app_session_state()` on an unauthenticated request, sets the value as the
`CF_AppSession` cookie on the application host, and sends the browser to `build_login_url(...)`
with the value's hash as `state`. The authorized hop later accepts a code only together with a
cookie whose hash is that state, so a code stolen from a URL is useless in another browser.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Protocol
from urllib.parse import urlencode

from identity.conf import conf

LOGIN_PATH = "/cdn-cgi/access/login"
AUTHORIZED_PATH = "/cdn-cgi/access/authorized"
LOGOUT_PATH = "/cdn-cgi/access/logout"
# The App Launcher (ACCESS_APP_LAUNCHER): the login host's root.
LAUNCHER_PATH = "/"
# A person's own page on the login host: their second factors and sessions.
ACCOUNT_PATH = "/cdn-cgi/access/account"
# Where upstream identity providers send the browser back, on the login host (as Access's
# `https://<team>.cloudflareaccess.com/cdn-cgi/access/callback`).
CALLBACK_PATH = "/cdn-cgi/access/callback"
# An approver's link to decide a temporary-approval request, on the login host.
APPROVAL_PATH = "/cdn-cgi/access/approval"
STATE_BYTES = 32
# The logout's query: the application page to sign in to again, and whether to go there at once.
LOGOUT_REDIRECT_PARAMETER = "redirect_url"
SIGN_IN_AGAIN_PARAMETER = "sign_in_again"


class _HasAud(Protocol):
    @property
    def aud(self) -> str: ...


def state_hash_for(value: str) -> str:
    """The `state` that stands for a `CF_AppSession` value: its SHA-256, in hex."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def new_app_session_state() -> tuple[str, str]:
    """A fresh `CF_AppSession` cookie value (32 random bytes, url-safe) and its state hash."""
    value = secrets.token_urlsafe(STATE_BYTES)
    return value, state_hash_for(value)


# The login host's own pages that send a person to sign in and expect them back (an approver's
# link): the only places the login host's own sign-in returns to besides its defaults.
_RETURN_PAGE = re.compile(re.escape(APPROVAL_PATH) + r"/[A-Za-z0-9_-]{1,256}")


def login_host_return(value: str) -> str:
    """`value` when it is a login-host page the login host's own sign-in may return to, else ""
    (never another host, never a path outside those pages)."""
    return value if _RETURN_PAGE.fullmatch(value) else ""


def login_host_sign_in_url(then: str) -> str:
    """The login host's own sign-in page, returning to the login-host page `then` afterwards."""
    return f"{LOGIN_PATH}?{urlencode({'redirect_url': then})}"


def login_host_for(app_host: str) -> str:
    """The host of the login page: `ACCESS_TEAM_DOMAIN`, else the application host itself."""
    return conf.team_domain or app_host.lower()


def build_login_url(
    *,
    application: _HasAud,
    app_host: str,
    scheme: str,
    redirect_url: str,
    state_hash: str | None,
) -> str:
    """The login page URL for `application` reached on `app_host` (host with port, if any).

    `<scheme>://<login host>/cdn-cgi/access/login/<app_host>?kid=<aud>&redirect_url=...&state=...`

    `state_hash=None` leaves the state out: the gate's 401 body does, because a `CF_AppSession`
    cookie set on a cross-site fetch's answer is not stored by browsers (SameSite=Lax), so a
    state bound to it could never be redeemed. The login page sends a visit without state back
    to the application, whose gate starts the flow afresh with a state cookie the browser keeps.
    """
    query = {"kid": application.aud, "redirect_url": redirect_url}
    if state_hash is not None:
        query["state"] = state_hash
    return f"{scheme}://{login_host_for(app_host)}{LOGIN_PATH}/{app_host}?{urlencode(query)}"


def authorized_url(*, scheme: str, app_host: str, code: str) -> str:
    """The authorized hop on the application host that exchanges `code` for the app cookie."""
    return f"{scheme}://{app_host}{AUTHORIZED_PATH}?{urlencode({'code': code})}"


def logout_url(*, scheme: str, host: str) -> str:
    """The logout endpoint on `host`."""
    return f"{scheme}://{host}{LOGOUT_PATH}"


def logout_back_to(logout: str, return_url: str | None, *, sign_in_again: bool = False) -> str:
    """`logout` (a logout endpoint's URL or path) with the page to sign in to again after it:
    its "Sign in again" link, or with `sign_in_again` where it sends the browser at once."""
    if not return_url:
        return logout
    query = {LOGOUT_REDIRECT_PARAMETER: return_url}
    if sign_in_again:
        query[SIGN_IN_AGAIN_PARAMETER] = "1"
    return f"{logout}?{urlencode(query)}"


def callback_url(*, scheme: str, login_host: str) -> str:
    """The redirect URI an identity provider must have registered for this login host."""
    return f"{scheme}://{login_host}{CALLBACK_PATH}"
