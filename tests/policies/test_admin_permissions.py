"""The application form's policies change only as far as the person's permissions reach, and
never behind their back: a post that leaves a stored policy out does not delete it."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from policies import services
from policies.models import Application, Policy
from policies.snapshot import invalidate_snapshot
from tests.policies.test_admin import application_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

STAFF = [{"email_domain": {"domain": "example.com"}}]
CHANGED_MESSAGE = "changed since this page was loaded"


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    invalidate_snapshot()
    yield
    invalidate_snapshot()


@pytest.fixture
def app() -> Application:
    application = services.application_create(name="Wiki", domain="wiki.example.com")
    services.policy_create(
        application=application, name="Staff", decision="allow", precedence=1, include=STAFF
    )
    services.policy_create(
        application=application,
        name="Contractors",
        decision="allow",
        precedence=2,
        include=[{"email": {"email": "cat@contractor.test"}}],
    )
    return application


def staff_with(client: Client, *codenames: str) -> Client:
    user = get_user_model().objects.create_user("staff", password="x" * 20, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def _policy_form(policy: Policy, **changes: str) -> dict[str, str]:
    return {
        "id": str(policy.pk),
        "application": str(policy.application_id),
        "name": policy.name,
        "decision": policy.decision,
        "precedence": str(policy.precedence),
        "include": json.dumps(policy.include),
        "require": "[]",
        "exclude": "[]",
        "session_duration": "",
        **changes,
    }


def post(client: Client, app: Application, policies: list[dict[str, str]], **fields: str):
    data = application_data(
        policies=policies, name=app.name, domain=app.domain, destinations="", **fields
    )
    return client.post(reverse("admin:policies_application_change", args=[app.pk]), data)


def stored(app: Application) -> list[tuple[str, list]]:
    return sorted((p.name, p.include) for p in Policy.objects.filter(application=app))


def test_a_post_without_the_policies_does_not_delete_them(client, app):
    """Someone who may change applications and policies but not delete policies."""
    before = stored(app)
    editor = staff_with(
        client, "view_application", "change_application", "view_policy", "change_policy"
    )
    response = post(editor, app, policies=[], session_duration="2h")
    assert response.status_code == 200
    assert CHANGED_MESSAGE in response.content.decode()
    assert stored(app) == before
    assert Application.objects.get(pk=app.pk).session_duration == "24h"


def test_leaving_one_policy_out_deletes_nothing(client, app):
    before = stored(app)
    editor = staff_with(
        client, "view_application", "change_application", "view_policy", "change_policy"
    )
    staff_policy = app.policies.get(name="Staff")
    response = post(editor, app, policies=[_policy_form(staff_policy)])
    assert response.status_code == 200
    assert CHANGED_MESSAGE in response.content.decode()
    assert stored(app) == before


def test_a_policy_added_meanwhile_survives_a_save_of_the_older_page(admin_client, app):
    page_policies = [_policy_form(policy) for policy in app.policies.order_by("precedence")]
    services.policy_create(
        application=app,
        name="Added through the API",
        decision="deny",
        precedence=3,
        include=[{"everyone": {}}],
    )
    response = post(admin_client, app, policies=page_policies, session_duration="2h")
    assert response.status_code == 200
    assert CHANGED_MESSAGE in response.content.decode()
    assert "Added through the API" in dict(stored(app))
    assert Application.objects.get(pk=app.pk).session_duration == "24h"


def test_someone_who_may_only_view_policies_changes_none(client, app):
    before = stored(app)
    editor = staff_with(client, "view_application", "change_application", "view_policy")
    policies = [
        _policy_form(policy, include=json.dumps([{"everyone": {}}]))
        for policy in app.policies.order_by("precedence")
    ]
    policies.append(
        {
            "name": "Everyone",
            "decision": "allow",
            "precedence": "9",
            "include": json.dumps([{"everyone": {}}]),
            "require": "[]",
            "exclude": "[]",
            "session_duration": "",
        }
    )
    response = post(editor, app, policies=policies, session_duration="2h")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert stored(app) == before
    assert Application.objects.get(pk=app.pk).session_duration == "2h"


def test_someone_who_may_not_delete_policies_cannot_tick_delete(client, app):
    before = stored(app)
    editor = staff_with(
        client, "view_application", "change_application", "view_policy", "change_policy"
    )
    policies = [_policy_form(policy) for policy in app.policies.order_by("precedence")]
    policies[1]["DELETE"] = "on"
    post(editor, app, policies=policies)
    assert stored(app) == before


def test_the_form_refuses_a_post_without_its_csrf_token(app):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    policies = [_policy_form(policy) for policy in app.policies.order_by("precedence")]
    response = post(browser, app, policies=policies, session_duration="2h")
    assert response.status_code == 403
    assert Application.objects.get(pk=app.pk).session_duration == "24h"
