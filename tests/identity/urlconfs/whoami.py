"""A site's own view that reads `request.user` behind the gate (the Django-user tests)."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse(
        {
            "authenticated": user.is_authenticated,
            "username": user.get_username() if user.is_authenticated else "",
            "backend": getattr(user, "backend", ""),
            "access_email": getattr(getattr(request, "access", None), "email", None),
        }
    )


async def awhoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"username": user.get_username() if user.is_authenticated else ""})


urlpatterns = [
    path("who/", whoami),
    path("who/async", awhoami),
    path("open/", whoami),
    path("cdn-cgi/access/", include("identity.urls")),
]
