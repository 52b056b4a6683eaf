"""The shop's own views: an open home page and the orders the gate protects."""

from django.http import HttpRequest, HttpResponse, JsonResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Welcome to the shop.\n", content_type="text/plain")


def orders(request: HttpRequest) -> JsonResponse:
    """What a protected view of someone else's project receives from the gate."""
    access = getattr(request, "access", None)
    return JsonResponse(
        {
            "view": "orders",
            "access": access.as_dict() if access is not None else None,
            "assertion_header": request.headers.get("Cf-Access-Jwt-Assertion", ""),
            "email_header": request.headers.get("Cf-Access-Authenticated-User-Email", ""),
            "user": request.user.get_username() if request.user.is_authenticated else "",
        }
    )
