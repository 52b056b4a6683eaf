"""URL wiring: each app owns its routes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from identity.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("cdn-cgi/access/", include("identity.urls")),
]

if settings.ACCESS_DEMO:
    urlpatterns.append(path("demo/", include("demo.urls")))
