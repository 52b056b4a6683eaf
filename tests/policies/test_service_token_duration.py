"""A service token's default duration is the model's, wherever it is shown."""

import pytest
from django.urls import reverse

from policies.durations import parse_duration
from policies.models import DEFAULT_SERVICE_TOKEN_DURATION, FOREVER, ServiceToken

pytestmark = pytest.mark.django_db


def _described(node, start):
    """Every schema object in `node` whose description starts with `start`."""
    if isinstance(node, dict):
        if str(node.get("description", "")).startswith(start):
            yield node
        for value in node.values():
            yield from _described(value, start)
    elif isinstance(node, list):
        for value in node:
            yield from _described(value, start)


def test_the_model_default_is_the_declared_one():
    assert ServiceToken._meta.get_field("duration").default == DEFAULT_SERVICE_TOKEN_DURATION


def test_the_admin_help_names_the_default_and_what_it_lasts(admin_client):
    page = admin_client.get(reverse("admin:policies_servicetoken_add")).content.decode()

    days = parse_duration(DEFAULT_SERVICE_TOKEN_DURATION).days
    assert f'default "{DEFAULT_SERVICE_TOKEN_DURATION}", {days} days' in page
    assert f'"{FOREVER}"' in page


def test_the_api_schema_shows_the_default_as_its_example(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    durations = list(_described(schema, "How long the token lasts"))
    assert durations
    for duration in durations:
        assert duration["example"] == DEFAULT_SERVICE_TOKEN_DURATION
        assert f'"{DEFAULT_SERVICE_TOKEN_DURATION}"' in duration["description"]
