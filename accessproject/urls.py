"""URL wiring: each app owns its routes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from accessproject import apidocs
from common.api.errors import no_route
from identity.views import health
from identity.views.home import login_host_home

urlpatterns = [
    path("", login_host_home, name="login-host-home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("cdn-cgi/access/", include("identity.urls")),
    path("api/access/", include("policies.api.urls")),
    path("api/access/", include("identity.api.urls")),
    re_path(r"^api/access/", no_route),
    path("api/schema/", apidocs.schema, name="api-schema"),
    path("api/docs/", apidocs.swagger, name="api-docs"),
    path("api/redoc/", apidocs.redoc, name="api-redoc"),
]

if settings.ACCESS_DEMO:
    urlpatterns.append(path("demo/", include("demo.urls")))
