"""One tiny view, reachable at the three paths the benchmark drives.

`/open/` is covered by no application, `/protected/` by an application with an allow policy, and
`/api/` by an application whose `cors_headers` let the gate answer preflights.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def tiny(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("open/", tiny),
    path("protected/", tiny),
    path("api/", tiny),
]
