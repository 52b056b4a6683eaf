"""The demo: who you are, and exactly what a protected view receives."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

IDENTITY_HEADER_PREFIX = "HTTP_CF_ACCESS_"


def _access_dict(request: HttpRequest) -> dict[str, Any] | None:
    access = getattr(request, "access", None)
    return access.as_dict() if access is not None else None


def _access_headers(request: HttpRequest) -> dict[str, str]:
    """The `Cf-Access-*` request headers, by their HTTP names."""
    return {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in request.META.items()
        if key.startswith(IDENTITY_HEADER_PREFIX)
    }


def home(request: HttpRequest) -> HttpResponse:
    """The demo page: who the gate says you are."""
    return render(request, "demo/home.html", {"access": _access_dict(request)})


@csrf_exempt
def echo(request: HttpRequest, rest: str) -> JsonResponse:
    """Answer every method with what the view received.

    No CORS header is set unless the caller asks with `?cors=1`: then `Origin` is echoed with
    credentials allowed, as a view that handles its own CORS would.
    """
    origin = request.headers.get("Origin")
    body = {
        "method": request.method,
        "path": request.path,
        "query": {key: request.GET.getlist(key) for key in request.GET},
        "headers": _access_headers(request),
        "origin": origin,
        "cookies": sorted(request.COOKIES),
        "access": _access_dict(request),
    }
    response = JsonResponse(body)
    if request.GET.get("cors") == "1" and origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        patch_vary_headers(response, ["Origin"])
    return response
