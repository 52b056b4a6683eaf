"""A site that put the sign-in endpoints somewhere the gate never sends anyone."""

from django.urls import include, path

urlpatterns = [path("auth/cdn-cgi/access/", include("identity.urls"))]
