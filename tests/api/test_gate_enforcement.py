"""An application created through the API is enforced by the gate at once."""

import pytest
from django.test import Client

from common.versioning import invalidate_all

pytestmark = pytest.mark.django_db

HOST = "api.localhost"


@pytest.fixture(autouse=True)
def _warm_state():
    # Build the snapshot before the change, so the test shows that the change replaces it.
    invalidate_all()


def test_application_created_through_the_api_is_enforced_at_the_next_request(
    api, django_capture_on_commit_callbacks, settings
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600  # no version check comes: the commit forgets
    visitor = Client()
    assert visitor.get("/demo/echo/private", HTTP_HOST=HOST).status_code == 200

    # Commit callbacks run as they would after a real commit: that is how a change is announced.
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/access/apps",
            {"name": "Private", "domain": f"{HOST}/demo/echo/private"},
            format="json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        policy = api.post(
            f"/api/access/apps/{created.json()['result']['id']}/policies",
            {
                "name": "staff",
                "decision": "allow",
                "precedence": 1,
                "include": [{"email_domain": {"domain": "example.com"}}],
            },
            format="json",
        )
    assert (created.status_code, policy.status_code) == (201, 201)

    # The next request, whatever the check interval: the commit announced the change.
    response = visitor.get("/demo/echo/private", HTTP_HOST=HOST)

    assert response.status_code == 302
    assert "/cdn-cgi/access/login" in response["Location"]


def test_application_deleted_through_the_api_stops_being_enforced(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/access/apps",
            {"name": "Private", "domain": f"{HOST}/demo/echo/private"},
            format="json",
        )
    visitor = Client()
    assert visitor.get("/demo/echo/private", HTTP_HOST=HOST).status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/access/apps/{created.json()['result']['id']}")

    assert visitor.get("/demo/echo/private", HTTP_HOST=HOST).status_code == 200
