"""The OpenAPI schema describes every operation; its docs pages reference no other host."""

import inspect
import re

import pytest
from rest_framework.views import APIView

from accessproject.apidocs import DOCS_CONTENT_SECURITY_POLICY
from common.api.base import AdminApiView
from common.api.resources import (
    ActionApi,
    DetailApi,
    ListApi,
    ListCreateApi,
    ReadApi,
    ResourceApi,
)

pytestmark = pytest.mark.django_db

OPERATIONS = ("get", "post", "put", "patch", "delete")


def _operations(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in OPERATIONS
    ]


def test_every_operation_has_a_summary_and_a_description_of_its_own(client):
    operations = _operations(client)
    bases = (
        AdminApiView,
        APIView,
        ResourceApi,
        ReadApi,
        ListApi,
        ListCreateApi,
        DetailApi,
        ActionApi,
    )
    generic = {inspect.cleandoc(cls.__doc__ or "") for cls in bases}

    assert len(operations) >= 35
    for name, operation in operations:
        assert operation.get("summary"), name
        assert operation.get("description"), name
        assert operation["description"] not in generic, name
    descriptions = [operation["description"] for _, operation in operations]
    assert len(set(descriptions)) == len(descriptions)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_reference_no_other_host(client, page):
    response = client.get(page)

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == DOCS_CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    addresses = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert addresses  # the page does load its scripts
    assert [address for address in addresses if not address.startswith("/")] == []
    assert re.findall(r"https?://", html) == []


# Components whose fields are not all described yet, each to leave this list when they are: the
# configuration objects' own shapes (policies/api), to be described where each is declared. A
# component not listed, and every new one, must describe every field.
UNDESCRIBED_YET = frozenset(
    {
        "ApplicationCreateInput",
        "ApplicationOutput",
        "CorsHeaders",
        "GroupCreateInput",
        "GroupOutput",
        "IdentityProviderCreateInput",
        "IdentityProviderOutput",
        "PatchedApplicationInput",
        "PatchedGroupInput",
        "PatchedIdentityProviderInput",
        "PatchedPolicyInput",
        "PatchedServiceTokenInput",
        "PolicyCreateInput",
        "PolicyOutput",
        "ServiceTokenCreateInput",
        "ServiceTokenOutput",
        "ServiceTokenWithSecretOutput",
    }
)


def test_every_parameter_has_a_description(client):
    undescribed = [
        f"{name} {parameter['in']} {parameter['name']}"
        for name, operation in _operations(client)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]

    assert undescribed == []


def _undescribed_fields(schema):
    """{component: its properties without a description}; a bare `$ref` is its component's."""
    found = {}
    for component, definition in schema["components"]["schemas"].items():
        missing = [
            field
            for field, spec in (definition.get("properties") or {}).items()
            if not spec.get("description") and set(spec) != {"$ref"}
        ]
        if missing:
            found[component] = missing
    return found


def test_every_field_has_a_description(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    undescribed = _undescribed_fields(schema)

    assert {c: f for c, f in undescribed.items() if c not in UNDESCRIBED_YET} == {}
    assert sorted(UNDESCRIBED_YET - set(undescribed)) == []  # described: take it off the list
    envelope = schema["components"]["schemas"]["ApplicationPageEnvelope"]["properties"]
    assert {name: bool(spec.get("description")) for name, spec in envelope.items()} == {
        "success": True,
        "errors": True,
        "messages": True,
        "result": True,
        "warnings": True,
        "result_info": True,
    }
