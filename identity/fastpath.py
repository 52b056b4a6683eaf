"""The gate's second adapter: CORS preflights answered before Django's handler runs.

docs/architecture.md (Fast paths): a middleware that answers a preflight still pays for
Django's request cycle (a request object, signals, the middleware chain, a response object);
this WSGI wrapper answers from the WSGI environ and the snapshot alone, with no Django request
or response. It
places the request with the same rule as the gate middleware (`identity.gate.place_request`),
asks the same decision and sends the same answer (`preflight_answer`). Only the preflights the
gate answers itself (applications with `cors_headers`) end here; everything else, and whatever
this wrapper cannot judge (a host ALLOWED_HOSTS refuses, a request without a Host header, a
configuration that cannot load), goes on to Django, whose gate middleware decides the same way
and answers the errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import get_path_info
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

from identity.answers import preflight_answer
from identity.clients import client_country_from_meta, client_ip_from_meta
from identity.endpoints import is_own_endpoint
from identity.gate import (
    GateDecision,
    Outcome,
    RequestFacts,
    decide_for_application,
    place_request,
)
from identity.hosts import request_scheme
from identity.middleware import log_decision
from policies.snapshot import get_snapshot

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ANSWERED_HERE = (Outcome.PREFLIGHT_ANSWERED, Outcome.PREFLIGHT_REFUSED)


class _EnvironScheme(HttpRequest):
    """Only what Django's `HttpRequest.scheme` reads (`SECURE_PROXY_SSL_HEADER`, then the
    server's `wsgi.url_scheme`): the scheme here is the one Django's request would have."""

    def __init__(self, environ: dict[str, Any]) -> None:  # nothing else of a request is read
        self.META = environ

    def _get_scheme(self) -> str:
        return str(self.META.get("wsgi.url_scheme") or "")


class PreflightFastPath:
    """Wrap a WSGI application; answer the gate's own preflights without entering it."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") == "OPTIONS"
            and "HTTP_ORIGIN" in environ
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        ):
            answer = answer_preflight_early(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.application(environ, start_response)


def host_from_environ(environ: dict[str, Any]) -> str | None:
    """The host `HttpRequest.get_host()` would return, read from the environ with Django's own
    validators (X-Forwarded-Host only with USE_X_FORWARDED_HOST, then ALLOWED_HOSTS); None when
    Django would refuse it or works it out from the server's name (no Host header)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST")
    if not isinstance(host, str):
        return None
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # as get_host() allows them
    domain, _port = split_domain_port(host)
    if domain and validate_host(domain, allowed_hosts):
        return host
    return None


def answer_preflight_early(
    environ: dict[str, Any],
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The gate's answer to this preflight (status line, headers, body), or None to let Django
    handle the request."""
    host = host_from_environ(environ)
    if host is None:
        return None  # Django answers 400, or works the host out itself
    try:
        path = get_path_info(environ) or "/"
        snapshot = get_snapshot()
        placed = place_request(host, path, snapshot, is_own_endpoint=is_own_endpoint)
        if isinstance(placed, GateDecision):
            return None  # untouched, misdirected or a bad path: Django's gate answers those
        # A preflight carries no credentials: only what the bypass and CORS checks read.
        facts = RequestFacts(
            host=host,
            path=path,
            method="OPTIONS",
            scheme=request_scheme(_EnvironScheme(environ)),
            origin=environ.get("HTTP_ORIGIN"),
            access_control_request_method=environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            access_control_request_headers=environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
            ip=client_ip_from_meta(environ),
            country=client_country_from_meta(environ),
        )
        decision = decide_for_application(
            facts,
            snapshot,
            placed,
            verify_token=_no_credentials,
            authenticate_service_token=_no_service_token,
        )
    except Exception:
        return None  # Django's gate decides again, and answers 400 or 503 with the reason logged
    if decision.outcome not in _ANSWERED_HERE:
        return None
    log_decision(facts, decision)
    return preflight_answer(decision)


def _no_credentials(token: str, audience: str) -> Any:
    # A preflight is decided before credentials are read; reaching here is a bug.
    raise AssertionError("a preflight never reads credentials")


def _no_service_token(client_id: str, client_secret: str) -> None:
    raise AssertionError("a preflight never reads credentials")
