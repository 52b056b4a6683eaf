"""Record, on the server, every request that reaches a view: what the protected view saw.

Installed only by `tests.browser.server_settings`, last in `MIDDLEWARE`, and it records in
`process_view`, which Django calls after every earlier middleware let the request through and
just before the view runs. A request answered by the gate (or by a WSGI wrapper before Django)
is therefore never recorded. Cookie values and tokens are not written, only their names.
"""

import json
import os
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

VIEW_LOG_ENV = "ACCESS_BROWSER_VIEW_LOG"
IDENTITY_HEADERS = ("Cf-Access-Authenticated-User-Email", "Cf-Access-Jwt-Assertion")


class ViewLogMiddleware:
    """Append one JSON line per request about to enter its view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = os.environ[VIEW_LOG_ENV]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        access = getattr(request, "access", None)
        record = {
            "host": request.get_host().split(":")[0],
            "method": request.method,
            "path": request.path,
            "query": request.META.get("QUERY_STRING", ""),
            "origin": request.headers.get("Origin"),
            "cookies": sorted(request.COOKIES),
            # The assertion is a bearer token: record that it arrived, not its value.
            "identity_headers": {
                name: ("<jwt>" if name.endswith("Assertion") else request.headers[name])
                for name in IDENTITY_HEADERS
                if name in request.headers
            },
            "access": access.as_dict() if access is not None else None,
        }
        # One write per line in append mode: lines from several workers never interleave.
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, default=str) + "\n")
