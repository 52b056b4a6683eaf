"""The gate's second adapter: CORS preflights answered before Django's handler runs.

docs/architecture.md (Fast paths): a middleware that answers a preflight still pays for Django's
request cycle (signals, the middleware chain, response processing); a WSGI wrapper that answers it
first is measurably cheaper. It asks the same pure decision as the gate middleware and builds the
same answer. Only the preflights the gate answers itself (applications with `cors_headers`) end
here; everything else, and whatever this wrapper cannot judge (a host ALLOWED_HOSTS refuses, a
configuration that cannot load), goes on to Django, whose gate middleware decides the same way and
answers the errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse

from identity.endpoints import is_own_endpoint
from identity.gate import Outcome, decide_request
from identity.middleware import log_decision, preflight_response, request_facts
from policies.snapshot import get_snapshot

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ANSWERED_HERE = (Outcome.PREFLIGHT_ANSWERED, Outcome.PREFLIGHT_REFUSED)


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
            response = answer_preflight_early(environ)
            if response is not None:
                start_response(
                    f"{response.status_code} {response.reason_phrase}", [*response.items()]
                )
                return [response.content]
        return self.application(environ, start_response)


def answer_preflight_early(environ: dict[str, Any]) -> HttpResponse | None:
    """The gate's answer to this preflight, or None to let Django handle the request."""
    request = WSGIRequest(environ)
    try:
        host = request.get_host()
        facts = request_facts(request.META, host=host, path=request.path_info, method="OPTIONS")
        decision = decide_request(
            facts,
            get_snapshot(),
            verify_token=_no_credentials,
            authenticate_service_token=_no_service_token,
            is_own_endpoint=is_own_endpoint,
        )
    except DisallowedHost:
        return None  # Django answers 400, as for any request
    except Exception:
        return None  # Django's gate decides again, and answers 503 with the reason logged
    if decision.outcome not in _ANSWERED_HERE:
        return None
    log_decision(facts, decision)
    return preflight_response(decision)


def _no_credentials(token: str, audience: str) -> Any:
    # A preflight is decided before credentials are read; reaching here is a bug.
    raise AssertionError("a preflight never reads credentials")


def _no_service_token(client_id: str, client_secret: str) -> None:
    raise AssertionError("a preflight never reads credentials")
