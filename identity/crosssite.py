"""The login endpoints refuse cross-site requests that are not top-level navigations.

Access says "the login page itself will not allow cross-site requests" (docs/architecture.md, CORS
with Access): another site may send a person to the login page (a link, a redirect from the gate),
but may not read it with `fetch`, embed it in a frame, or post a form to it. The decision is a pure
function over the request's method and the few headers that matter (`login_request_refusal`);
`refuse_cross_site` applies it to a view, runs Django's CSRF check after it, and gives every
response of the view the headers that keep the page out of frames and caches.

Fetch metadata (`Sec-Fetch-Site`, `-Mode`, `-Dest`) is sent by every current browser and cannot
be set by page script. Requests without it (older browsers, curl) are judged by `Origin` on POST;
the CSRF token still guards those.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from policies.cors import normalize_origin

logger = logging.getLogger("accessproject.access")

SAFE_METHODS = frozenset({"GET", "HEAD"})
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})
# Destinations that would put the page inside another document.
EMBEDDING_DESTINATIONS = frozenset({"iframe", "frame", "embed", "object", "fencedframe"})
# Only these may POST: the page's own forms (same-origin) and browser-initiated requests (none).
POST_SITES = frozenset({"same-origin", "none"})
KNOWN_SITES = frozenset({"same-origin", "same-site", "cross-site", "none"})

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def login_request_refusal(
    *, method: str, headers: Mapping[str, str], own_origin: str
) -> str | None:
    """Why a request to a login endpoint must be refused, or None when it may proceed.

    `headers` maps header names (any case) to values; `own_origin` is this host's origin
    (`https://access.example.com`).
    """
    lowered = {name.lower(): value.strip().lower() for name, value in headers.items()}
    site = lowered.get("sec-fetch-site")
    mode = lowered.get("sec-fetch-mode")
    dest = lowered.get("sec-fetch-dest")
    origin = lowered.get("origin")

    if method == "OPTIONS" and "access-control-request-method" in lowered:
        return "preflight to a login endpoint"
    if dest in EMBEDDING_DESTINATIONS:
        return f"embedded as {dest}"
    if site is not None and site not in KNOWN_SITES:
        return "unknown Sec-Fetch-Site"
    if method in SAFE_METHODS:
        if site in (None, "same-origin", "none"):
            return None
        # Another site may only navigate the top-level window here (a link, the gate's redirect).
        if mode != "navigate":
            return f"{site} request in mode {mode or 'unknown'}"
        if dest not in (None, "document"):
            return f"{site} navigation to {dest}"
        return None
    if site is not None and site not in POST_SITES:
        return f"{site} {method}"
    if origin is not None:
        # `null` comes from sandboxed frames, data: URLs and privacy redirects: never ours. An
        # origin that cannot be read is never ours either, even beside an own origin that cannot
        # be read (a host with a trailing dot): two unreadable origins are not one origin.
        expected = normalize_origin(own_origin)
        normalized = normalize_origin(origin)
        if origin == "null" or expected is None or normalized is None or normalized != expected:
            return "foreign Origin"
    return None


def content_security_policy(
    form_targets: Iterable[str] = (), *, image_origins: Iterable[str] = ()
) -> str:
    """The login pages' CSP; `form_targets` are the origins a form post may redirect to, and
    `image_origins` those images may load from besides this one (the launcher's logos).

    Chromium applies `form-action` to the redirects that follow a form submission, so the
    application's origin (the authorized hop) must be listed next to `'self'`.
    """
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    policy = (
        "frame-ancestors 'none'; default-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"form-action {targets}"
    )
    # Only origins written plainly are listed: anything else (a `;` or a space) could add a
    # directive, so its image is left blocked instead.
    images = sorted({origin for origin in image_origins if _PLAIN_ORIGIN.fullmatch(origin)})
    if images:
        policy += "; img-src " + " ".join(["'self'", *images])
    return policy


_PLAIN_ORIGIN = re.compile(r"https://[a-z0-9.-]+(:[0-9]{1,5})?")


def apply_login_headers(
    response: HttpResponseBase,
    *,
    form_targets: Iterable[str] = (),
    image_origins: Iterable[str] = (),
) -> None:
    """Give a login response its anti-framing, CSP, caching and referrer headers."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = content_security_policy(
        form_targets, image_origins=image_origins
    )
    response.headers["Cache-Control"] = "no-store"
    # `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on the
    # page's own form posts, which the Origin and CSRF checks must refuse.
    response.headers["Referrer-Policy"] = "same-origin"


def _own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _refusal_response(request: HttpRequest, reason: str) -> HttpResponse:
    logger.info(
        "login request refused",
        extra={"reason": reason, "host": request.get_host(), "path": request.path},
    )
    return render(
        request,
        "identity/refused.html",
        {"message": "This page cannot be opened from another site."},
        status=403,
    )


def refuse_cross_site(view: View[P]) -> View[P]:
    """Decorate a login endpoint: cross-site refusal first, then Django's CSRF check, then the view.

    The CSRF check runs inside the decorator (the view is marked exempt for the middleware) so
    that a refused request gets the same headers and page whatever refused it.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        reason = login_request_refusal(
            method=request.method or "", headers=request.headers, own_origin=_own_origin(request)
        )
        response: HttpResponseBase
        if reason is not None:
            response = _refusal_response(request, reason)
        elif request.method not in ALLOWED_METHODS:
            response = HttpResponse(status=405)
            response.headers["Allow"] = ", ".join(sorted(ALLOWED_METHODS))
        else:
            response = protected(request, *args, **kwargs)
        if "Content-Security-Policy" not in response.headers:
            apply_login_headers(response)
        return response

    return csrf_exempt(wrapped)
