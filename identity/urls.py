from django.urls import path

from identity.views.certs import certs
from identity.views.get_identity import get_identity

app_name = "access"

urlpatterns: list = [
    path("certs", certs, name="certs"),
    path("get-identity", get_identity, name="get-identity"),
]
