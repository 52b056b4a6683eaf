"""The shop's URLs, with accessproject's endpoints added as docs/protect-your-service.md shows."""

import os

from django.contrib import admin
from django.urls import include, path

from shop import views

urlpatterns = [
    path("", views.home),
    path("orders/", views.orders),
    path("admin/", admin.site.urls),
]

# accessproject: the sign-in endpoints and the REST API
urlpatterns += [
    path("cdn-cgi/access/", include("identity.urls")),
    path("api/access/", include("policies.api.urls")),
    path("api/access/", include("identity.api.urls")),
]
# end of accessproject

if os.environ.get("SHOP_MISTAKE") == "no-access-urls":
    urlpatterns = urlpatterns[:3]
