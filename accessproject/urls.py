"""URL wiring: each app owns its routes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from common.api.errors import no_route
from identity.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("cdn-cgi/access/", include("identity.urls")),
    path("api/access/", include("policies.api.urls")),
    path("api/access/", include("identity.api.urls")),
    re_path(r"^api/access/", no_route),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

if settings.ACCESS_DEMO:
    urlpatterns.append(path("demo/", include("demo.urls")))
