"""The audit trail: each change, made through the admin, the API or a config file, is recorded
with who, when, through what and a before/after diff, and never holds a secret."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.api.tokens import api_token_create
from common.audit import CODE, acting_as
from common.models import AuditEntry
from identity import keys, sessions
from policies import services
from policies.models import Application, IdentityProvider
from tests.factories import ApplicationFactory, PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

SECRET = "s3cr3t-client-secret-value"


@pytest.fixture
def root():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api(root):
    _, plain = api_token_create(name="ci", user=root, created_by=root, read_only=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def only_entry(**filters):
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_admin_change_is_recorded_with_the_person_and_a_diff(client, root):
    application = ApplicationFactory(name="Dashboard", domain="dash.example.com")
    AuditEntry.objects.all().delete()
    client.force_login(root)
    url = reverse("admin:policies_application_change", args=[application.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "name": "Dashboard",
        "domain": "dash.example.com",
        "destinations": '["dash.example.com/api"]',
        "session_duration": "12h",
        "same_site_cookie_attribute": "lax",
        "http_only_cookie_attribute": "on",
        "type": "self_hosted",
        "app_launcher_visible": "on",
        "cors_headers": "",
        "custom_deny_message": "",
        "custom_deny_url": "",
        "custom_non_identity_deny_url": "",
        "policies-TOTAL_FORMS": "0",
        "policies-INITIAL_FORMS": "0",
        "policies-MIN_NUM_FORMS": "0",
        "policies-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only_entry(object_type="application", action="update")
    assert (entry.channel, entry.actor, entry.actor_user_id) == ("admin", "root", root.pk)
    assert entry.object_id == str(application.pk)
    assert entry.changes == {
        "destinations": [[], ["dash.example.com/api"]],
        "session_duration": ["24h", "12h"],
    }
    assert entry.before["session_duration"] == "24h"
    assert entry.after["session_duration"] == "12h"


def test_api_change_is_recorded_as_the_token_user_through_the_api(api, root):
    response = api.post(
        "/api/access/apps", {"name": "Wiki", "domain": "wiki.example.com"}, format="json"
    )
    assert response.status_code == 201
    entry = only_entry(object_type="application")
    assert (entry.action, entry.channel, entry.actor) == ("create", "api", "root")
    assert entry.before is None
    assert entry.after["domain"] == "wiki.example.com"
    app_id = response.json()["result"]["id"]
    response = api.delete(f"/api/access/apps/{app_id}")
    assert response.status_code == 200
    deleted = only_entry(object_type="application", action="delete")
    assert deleted.channel == "api"
    assert deleted.before["name"] == "Wiki"
    assert deleted.after is None


def test_api_refused_change_records_nothing(api):
    response = api.post("/api/access/apps", {"name": "Bad", "domain": ""}, format="json")
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_config_file_change_is_recorded_through_the_config_file(tmp_path):
    path = tmp_path / "access.json"
    path.write_text(
        json.dumps(
            {
                "applications": [
                    {
                        "name": "Docs",
                        "domain": "docs.example.com",
                        "policies": [
                            {
                                "name": "Staff",
                                "decision": "allow",
                                "precedence": 1,
                                "include": [{"email_domain": {"domain": "example.com"}}],
                            }
                        ],
                    }
                ]
            }
        )
    )
    call_command("access_apply", str(path), stdout=StringIO(), stderr=StringIO())
    application = only_entry(object_type="application")
    policy = only_entry(object_type="policy")
    assert application.channel == policy.channel == "config file"
    assert application.action == policy.action == "create"
    assert policy.object_name == "Docs: Staff"
    assert policy.after["include"] == [{"email_domain": {"domain": "example.com"}}]
    # Applying the same file again changes nothing, and records nothing.
    call_command("access_apply", str(path), stdout=StringIO(), stderr=StringIO())
    assert AuditEntry.objects.count() == 2


def test_code_outside_any_channel_is_recorded_as_code():
    services.group_create(name="Ops", include=[{"email": {"email": "ann@example.com"}}])
    entry = only_entry(object_type="access group")
    assert (entry.channel, entry.actor, entry.actor_user_id) == (CODE, "", None)


def test_policy_changes_through_the_set_are_each_recorded():
    application = ApplicationFactory(name="Intranet")
    PolicyFactory(application=application, name="Old", precedence=1)
    AuditEntry.objects.all().delete()
    with acting_as("admin", "ann", 7):
        services.application_set_policies(
            application=application,
            policies=[
                {
                    "name": "New",
                    "decision": "deny",
                    "precedence": 1,
                    "include": [{"everyone": {}}],
                }
            ],
        )
    actions = sorted(AuditEntry.objects.values_list("action", "object_name", "actor"))
    assert actions == [("create", "Intranet: New", "ann"), ("delete", "Intranet: Old", "ann")]


def test_identity_provider_secrets_never_reach_the_trail(api):
    response = api.post(
        "/api/access/identity_providers",
        {
            "name": "GitHub",
            "type": "github",
            "config": {"client_id": "abc", "client_secret": SECRET},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    entry = only_entry(object_type="identity provider")
    assert entry.detail == {"changed_secrets": ["client_secret"]}
    provider = IdentityProvider.objects.get(name="GitHub")
    services.identity_provider_update(
        provider=provider, config={"client_id": "abc", "client_secret": SECRET + "2"}
    )
    services.identity_provider_update(provider=provider, config={"client_id": "xyz"})
    entries = list(AuditEntry.objects.filter(object_type="identity provider").order_by("pk"))
    assert [e.detail for e in entries] == [
        {"changed_secrets": ["client_secret"]},
        {"changed_secrets": ["client_secret"]},
        {},
    ]
    assert entries[2].changes == {"config.client_id": ["abc", "xyz"]}
    exported = api.get("/api/access/audit").content.decode()
    assert SECRET not in exported
    assert SECRET not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_service_token_lifecycle_is_recorded_without_its_secret(root):
    with acting_as("admin", "root", root.pk):
        token, secret = services.service_token_create(name="ci-deploy")
        services.service_token_rotate(token=token)
        services.service_token_refresh(token=token)
        services.service_token_delete(token=token)
    entries = list(AuditEntry.objects.filter(object_type="service token").order_by("pk"))
    assert [e.action for e in entries] == ["create", "rotate", "refresh", "delete"]
    assert entries[1].changes["client_secret_version"] == [1, 2]
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert secret not in stored
    assert token.secret_hash not in stored
    assert "secret_hash" not in stored


def test_keys_and_sessions_are_recorded(root):
    with acting_as("command", "ops"):
        first = keys.rotate_keys(reason="manual")
        second = keys.rotate_keys(reason="manual")
        keys.retire_previous_keys(reason="leak")
    rotations = list(AuditEntry.objects.filter(action="rotate").order_by("pk"))
    assert rotations[-1].changes == {"current_kid": [first.kid, second.kid]}
    assert rotations[-1].channel == "command"
    retired = only_entry(action="retire")
    assert retired.object_name == first.kid
    application = ApplicationFactory(name="Wiki")
    session = sessions.session_create(
        email="ann@example.com",
        application=application,
        login_method="One-time PIN",
        identity_nonce="n" * 32,
        issued_at=timezone.now(),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    with acting_as("api", "root", root.pk):
        assert sessions.session_revoke(session=session)
        sessions.revoke_tokens_issued_before(email="bob@example.com")
    revoked = only_entry(object_type="session")
    assert revoked.action == "revoke"
    assert revoked.object_name == "ann@example.com, Wiki"
    assert revoked.actor == "root"
    cutoff = only_entry(object_type="revocation")
    assert cutoff.after["email"] == "bob@example.com"
    assert "BEGIN" not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_admin_lists_filters_and_shows_the_diff(client, root):
    with acting_as("api", "root", root.pk):
        services.group_create(name="Ops", include=[{"everyone": {}}])
    with acting_as("config file", "deploy"):
        application = services.application_create(name="Wiki", domain="wiki.example.com")
        services.application_update(application=application, session_duration="1h")
    client.force_login(root)
    listing = client.get(reverse("admin:common_auditentry_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "Wiki (session_duration)" in text
    assert "Ops" in text
    filtered = client.get(
        reverse("admin:common_auditentry_changelist"), {"channel__exact": "config file"}
    )
    assert "Ops" not in filtered.content.decode()
    assert "Wiki" in filtered.content.decode()
    entry = AuditEntry.objects.get(action="update")
    detail = client.get(reverse("admin:common_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "<th scope='row'>session_duration</th><td><pre>24h</pre></td><td><pre>1h</pre>" in body
    assert (
        client.post(reverse("admin:common_auditentry_delete", args=[entry.pk])).status_code == 403
    )


def test_api_exports_and_filters(api, root):
    with acting_as("admin", "ann"):
        services.application_create(name="Wiki", domain="wiki.example.com")
    with acting_as("config file", "deploy"):
        services.group_create(name="Ops", include=[{"everyone": {}}])
    response = api.get("/api/access/audit", {"channel": "config file"})
    assert response.status_code == 200
    result = response.json()["result"]
    assert [(e["object_type"], e["actor"]) for e in result] == [("access group", "deploy")]
    response = api.get("/api/access/audit", {"object_type": "application", "actor": "ann"})
    assert [e["object_name"] for e in response.json()["result"]] == ["Wiki"]
    assert api.get("/api/access/audit", {"channel": "telepathy"}).status_code == 400


def test_the_trail_needs_its_view_permission(client):
    reader = UserFactory(username="reader")
    _, plain = api_token_create(name="r", user=reader, created_by=reader, read_only=True)
    response = APIClient().get("/api/access/audit", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 403
    assert Application.objects.count() == 0


def test_history_page_shows_changes_made_through_the_api(api, client, root):
    response = api.post(
        "/api/access/apps", {"name": "Wiki", "domain": "wiki.example.com"}, format="json"
    )
    app_id = response.json()["result"]["id"]
    api.patch(f"/api/access/apps/{app_id}", {"session_duration": "2h"}, format="json")
    client.force_login(root)
    page = client.get(reverse("admin:policies_application_history", args=[app_id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "doesn’t have a change history" not in body
    assert "<td>api</td>" in body
    assert "session_duration" in body
    trail = client.get(
        reverse("admin:common_auditentry_changelist"),
        {"object_type": "application", "object_id": str(app_id)},
    )
    assert trail.status_code == 200
    assert "2 audit trail" in trail.content.decode()
