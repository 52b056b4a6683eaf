"""Services validate, save atomically and bump the configuration version."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from common.credentials import verify_secret
from common.models import ConfigVersion
from policies import selectors, services
from policies.models import AccessGroup, Application, IdentityProvider, Policy
from tests.factories import (
    AccessGroupFactory,
    ApplicationFactory,
    PolicyFactory,
    ServiceTokenFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = [{"email_domain": {"domain": "example.com"}}]


def version() -> int:
    return ConfigVersion.objects.get(pk=1).version


def test_application_create_saves_and_bumps_the_version(django_capture_on_commit_callbacks):
    before = version()
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_create(name="App", domain="app.example.com")
    assert Application.objects.get(pk=application.pk).domain == "app.example.com"
    assert version() == before + 1


def test_application_create_refuses_invalid_fields_and_saves_nothing():
    with pytest.raises(ValidationError) as raised:
        services.application_create(
            name="App",
            domain="app.example.com",
            cors_headers={"allow_all_origins": True, "allow_all_methods": True, "max_age": 90000},
        )
    assert raised.value.message_dict == {"cors_headers.max_age": ["must be between -1 and 86400"]}
    assert not Application.objects.exists()


def test_application_create_reports_a_duplicate_name():
    ApplicationFactory(name="App")
    with pytest.raises(ValidationError) as raised:
        services.application_create(name="App", domain="other.example.com")
    assert list(raised.value.message_dict) == ["name"]


def test_application_update_keeps_the_aud_tag():
    application = services.application_create(name="App", domain="app.example.com")
    aud = application.aud
    services.application_update(application=application, session_duration="12h")
    application.refresh_from_db()
    assert (application.aud, application.session_duration) == (aud, "12h")


def test_application_update_sets_allowed_idps_by_name():
    application = services.application_create(name="App", domain="app.example.com")
    services.application_update(application=application, allowed_idps=["Password"])
    assert list(application.allowed_idps.values_list("name", flat=True)) == ["Password"]


def test_allowed_idps_left_empty_reads_no_identity_provider(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.provider_names([]) == []
        assert selectors.provider_names(()) == []


def test_allowed_idps_are_resolved_in_one_query(django_assert_num_queries):
    provider = IdentityProvider.objects.get(name="Password")
    with django_assert_num_queries(1):
        resolved = selectors.provider_names([provider.pk, str(provider.pk), "Password", "nope"])
    assert resolved == ["Password", "Password", "Password", "nope"]


def test_allowed_idps_given_by_id_are_resolved_to_names():
    provider = IdentityProvider.objects.get(name="Password")
    application = services.application_create(
        name="App", domain="app.example.com", allowed_idps=[provider.pk]
    )
    assert list(application.allowed_idps.values_list("name", flat=True)) == ["Password"]


def test_application_delete_removes_its_policies(django_capture_on_commit_callbacks):
    policy = PolicyFactory()
    before = version()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_delete(application=policy.application)
    assert not Policy.objects.exists()
    assert version() == before + 1


def test_policy_create_refuses_a_taken_precedence():
    existing = PolicyFactory(precedence=1)
    with pytest.raises(ValidationError) as raised:
        services.policy_create(
            application=existing.application,
            name="Other",
            decision="deny",
            precedence=1,
            include=STAFF,
        )
    assert list(raised.value.message_dict) == ["precedence"]


def test_policy_update_changes_the_decision():
    policy = PolicyFactory()
    services.policy_update(policy=policy, decision="deny")
    policy.refresh_from_db()
    assert policy.decision == "deny"


def test_set_policies_swaps_precedences():
    application = ApplicationFactory()
    PolicyFactory(application=application, name="A", precedence=1)
    PolicyFactory(application=application, name="B", precedence=2)
    services.application_set_policies(
        application=application,
        policies=[
            {"name": "A", "decision": "allow", "precedence": 2, "include": STAFF},
            {"name": "B", "decision": "deny", "precedence": 1, "include": STAFF},
        ],
    )
    assert list(application.policies.order_by("precedence").values_list("name", flat=True)) == [
        "B",
        "A",
    ]


def test_set_policies_deletes_unlisted_policies():
    application = ApplicationFactory()
    PolicyFactory(application=application, name="Old", precedence=1)
    services.application_set_policies(
        application=application,
        policies=[{"name": "New", "decision": "allow", "precedence": 1, "include": STAFF}],
    )
    assert list(application.policies.values_list("name", flat=True)) == ["New"]


def test_group_create_refuses_an_unknown_nested_group():
    with pytest.raises(ValidationError) as raised:
        services.group_create(name="staff", include=[{"group": {"name": "missing"}}])
    assert list(raised.value.message_dict) == ["include[0].group.name"]


def test_group_delete_refuses_a_group_in_use():
    group = AccessGroupFactory(name="staff")
    PolicyFactory(include=[{"group": {"name": "staff"}}])
    with pytest.raises(ValidationError):
        services.group_delete(group=group)
    assert AccessGroup.objects.filter(name="staff").exists()


def test_service_token_create_returns_the_secret_once_and_stores_a_hash():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        token, secret = services.service_token_create(name="ci")
    assert len(secret) >= 32
    assert secret not in token.secret_hash
    assert verify_secret(secret, token.secret_hash)
    assert token.client_id.endswith(".access")
    assert len(token.client_id) == 39
    assert token.expires_at == NOW + timedelta(hours=8760)


def test_forever_service_token_has_no_expiry():
    token, _ = services.service_token_create(name="ci", duration="forever")
    assert token.expires_at is None


def test_service_token_create_accepts_a_given_client_id_and_secret():
    token, secret = services.service_token_create(
        name="ci", client_id="e367826f93b8d71185e03fe518aff3b4.access", client_secret="x" * 40
    )
    assert (token.client_id, secret) == ("e367826f93b8d71185e03fe518aff3b4.access", "x" * 40)


def test_service_token_rotate_keeps_the_previous_secret_for_the_grace_period():
    token = ServiceTokenFactory(secret="old" * 20)
    old_hash = token.secret_hash
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        token, secret = services.service_token_rotate(token=token, grace=timedelta(hours=2))
    assert verify_secret(secret, token.secret_hash)
    assert token.previous_secret_hash == old_hash
    assert token.previous_secret_expires_at == NOW + timedelta(hours=2)
    assert token.client_secret_version == 2


def test_service_token_refresh_extends_from_now():
    token = ServiceTokenFactory(duration="24h", expires_at=NOW)
    later = NOW + timedelta(days=3)
    with mock.patch("django.utils.timezone.now", return_value=later):
        services.service_token_refresh(token=token)
    assert token.expires_at == later + timedelta(hours=24)


def test_service_token_in_use_cannot_be_deleted():
    token = ServiceTokenFactory(name="ci")
    PolicyFactory(decision="non_identity", include=[{"service_token": {"name": "ci"}}])
    with pytest.raises(ValidationError):
        services.service_token_delete(token=token)


def test_identity_provider_in_allowed_idps_cannot_be_deleted():
    provider = IdentityProvider.objects.get(name="Password")
    application = ApplicationFactory()
    application.allowed_idps.add(provider)
    with pytest.raises(ValidationError) as raised:
        services.identity_provider_delete(provider=provider)
    assert "allowed_idps" in raised.value.message_dict["name"][0]


def test_identity_provider_create_refuses_unknown_type():
    with pytest.raises(ValidationError) as raised:
        services.identity_provider_create(name="Okta", type="saml")
    assert list(raised.value.message_dict) == ["type"]
