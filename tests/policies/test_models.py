"""The models' defaults and constraints."""

import re

import pytest
from django.db import IntegrityError

from common.models import ConfigVersion
from policies.models import DEFAULT_DENY_MESSAGE, Application, IdentityProvider, Policy

pytestmark = pytest.mark.django_db


def test_migrations_create_one_identity_provider_of_each_type():
    assert list(IdentityProvider.objects.values_list("name", "type")) == [
        ("One-time PIN", "onetimepin"),
        ("Password", "password"),
    ]


def test_migrations_create_the_configuration_version_row():
    assert ConfigVersion.objects.get(pk=1).version >= 0


def test_application_gets_a_64_hex_aud_tag():
    application = Application.objects.create(name="App", domain="app.example.com")
    assert re.fullmatch(r"[0-9a-f]{64}", application.aud)


def test_application_aud_tags_differ():
    first = Application.objects.create(name="One", domain="one.example.com")
    second = Application.objects.create(name="Two", domain="two.example.com")
    assert first.aud != second.aud


def test_application_aud_is_not_editable():
    assert Application._meta.get_field("aud").editable is False


def test_application_defaults():
    application = Application.objects.create(name="App", domain="app.example.com")
    assert application.session_duration == "24h"
    assert application.same_site_cookie_attribute == "lax"
    assert application.http_only_cookie_attribute is True
    assert application.cors_headers is None
    assert application.cors_on_responses is False
    assert application.unauthenticated_401 is False
    assert application.destinations == []


def test_empty_deny_message_means_the_default_text():
    application = Application(name="App", domain="app.example.com")
    assert application.deny_message == DEFAULT_DENY_MESSAGE == "That account does not have access."


def test_policy_precedence_is_unique_per_application():
    application = Application.objects.create(name="App", domain="app.example.com")
    Policy.objects.create(application=application, name="A", decision="allow", precedence=1)
    with pytest.raises(IntegrityError):
        Policy.objects.create(application=application, name="B", decision="deny", precedence=1)


def test_same_precedence_is_fine_in_another_application():
    first = Application.objects.create(name="One", domain="one.example.com")
    second = Application.objects.create(name="Two", domain="two.example.com")
    Policy.objects.create(application=first, name="A", decision="allow", precedence=1)
    Policy.objects.create(application=second, name="A", decision="allow", precedence=1)
    assert Policy.objects.filter(precedence=1).count() == 2
