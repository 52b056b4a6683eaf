"""The OpenAPI schema against the live API: property-based requests from the schema itself.

Schemathesis generates requests for every operation the schema documents and sends them to the
WSGI application in process, with a read-write superuser token. No answer may be a server error,
and every answer (successes and errors alike) must match what the schema says: status code,
content type, headers and body. The run is bounded (few examples, no deadline) to stay fast.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from common.api.tokens import api_token_create
from tests.factories import UserFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _generated_schema() -> dict:
    # The document /api/schema/ serves, generated in process: fetching it over WSGI at import
    # time would pass through the gate, which reads the database before any test may.
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def _application_in_the_test_transaction():
    """The project's WSGI application, minus closing the database connection around a request.

    Django closes a connection whose transaction is still open when a request starts or finishes,
    and the test's transaction is one; Django's own test client unhooks the same signals.
    """
    handler = get_wsgi_application()

    def application(environ, start_response):
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            for signal in (request_started, request_finished):
                signal.connect(close_old_connections)

    return application


schema = schemathesis.openapi.from_dict(_generated_schema())
schema.app = _application_in_the_test_transaction()
schema.config.phases.coverage.enabled = False


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_served_one(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert json.loads(response.content) == _generated_schema()


@pytest.fixture
def bearer_header(db):
    user = UserFactory(username="fuzzer", is_staff=True, is_superuser=True)
    _, plain = api_token_create(name="fuzz", user=user, created_by=user, read_only=False)
    return {"Authorization": f"Bearer {plain}"}


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    # The token and database are shared by the examples of one operation, on purpose.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_its_schema(case, bearer_header):
    case.call_and_validate(headers=bearer_header, checks=CHECKS)
