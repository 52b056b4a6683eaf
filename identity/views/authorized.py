"""The authorized hop: `/cdn-cgi/access/authorized?code=...` on the application host.

The exchange itself is `identity.flows.authorized`; this view refuses other methods and
cross-site requests, and turns a refusal into a 400 page with no cookie (a configuration that
cannot be loaded into a 503).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from common.versioning import VersionUnavailable
from identity.crosssite import refuse_cross_site
from identity.flows.authorized import CodeRefused, exchange_code
from policies.snapshot import SnapshotError

logger = logging.getLogger("accessproject.access")

REFUSED = "This sign-in link is not valid or has expired. Go back to the application and try again."


def _refusal(request: HttpRequest, reason: str) -> HttpResponse:
    logger.info("authorized hop refused", extra={"reason": reason, "host": request.get_host()})
    return render(request, "identity/refused.html", {"message": REFUSED}, status=400)


@refuse_cross_site
def authorized(request: HttpRequest) -> HttpResponseBase:
    """Exchange the code for the application cookie and go on to `redirect_url`."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    try:
        response = exchange_code(request)
    except CodeRefused as refused:
        return _refusal(request, refused.reason)
    except (SnapshotError, VersionUnavailable):
        logger.exception("authorized hop unavailable: the configuration cannot be loaded")
        return render(
            request,
            "identity/refused.html",
            {"message": "Sign-in is unavailable right now. Try again soon."},
            status=503,
        )
    return response
