"""The App Launcher's configuration: `type: app_launcher`, `app_launcher_visible`, `logo_url`.

The same names and refusals through validation, the services, the REST API, config files (and
their export) and the compiled snapshot.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from policies import services
from policies.catalog import Catalog
from policies.configfile import apply_plan, export_config, plan_config
from policies.models import Application
from policies.snapshot import build_snapshot
from policies.validation import application_errors
from tests.policies.test_admin import application_data

CATALOG = Catalog(identity_providers=frozenset({"One-time PIN"}))
LOGO_MESSAGE = "must be an absolute https:// image URL, like https://example.com/logo.png"
LAUNCHER = {"name": "App Launcher", "type": "app_launcher", "domain": ""}
PEOPLE = {
    "name": "People",
    "decision": "allow",
    "precedence": 1,
    "include": [{"email_domain": {"domain": "example.com"}}],
}


def app(**fields):
    return {"name": "Wiki", "domain": "wiki.example.com", **fields}


# Validation


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/logo.png",
        "https://cdn.example.com:8443/logos/wiki.svg?v=2",
        "https://xn--bcher-kva.example/logo.png",
    ],
)
def test_an_https_logo_url_is_accepted(url):
    assert application_errors(app(logo_url=url), catalog=CATALOG) == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "//cdn.example.com/logo.png",
        "/static/logo.png",
        "https://",
        "https://user:secret@cdn.example.com/logo.png",
        "https://cdn.example.com/logo .png",
        "https://cdn.example.com/logo.png\n",
        'https://cdn.example.com/"onerror="alert(1)',
        "https://cdn.example.com/<svg>",
        "https://bücher.example/logo.png",
        "https://cdn.example.com:0/logo.png",
        "https://cdn.example.com:99999/logo.png",
        7,
    ],
)
def test_a_logo_url_that_is_not_a_plain_https_url_is_refused(url):
    assert application_errors(app(logo_url=url), catalog=CATALOG) == {"logo_url": [LOGO_MESSAGE]}


def test_a_logo_url_longer_than_the_column_is_refused():
    url = "https://cdn.example.com/" + "a" * 2048
    assert application_errors(app(logo_url=url), catalog=CATALOG) == {
        "logo_url": ["must be at most 2048 characters"]
    }


def test_app_launcher_visible_must_be_a_boolean():
    assert application_errors(app(app_launcher_visible="yes"), catalog=CATALOG) == {
        "app_launcher_visible": ["must be true or false"]
    }


def test_an_unknown_type_is_refused():
    assert application_errors(app(type="saas"), catalog=CATALOG) == {
        "type": ["must be one of self_hosted, app_launcher"]
    }


def test_the_app_launcher_needs_no_domain():
    assert application_errors(LAUNCHER, catalog=CATALOG) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "launcher.example.com"),
        ("destinations", ["launcher.example.com/more"]),
        ("cors_headers", {"allowed_origins": ["https://a.example"], "allowed_methods": ["GET"]}),
        ("options_preflight_bypass", True),
        ("cors_on_responses", True),
    ],
)
def test_the_app_launcher_refuses_what_only_a_protected_pattern_uses(field, value):
    errors = application_errors({**LAUNCHER, field: value}, catalog=CATALOG)
    assert errors == {
        field: [
            "the App Launcher is served at / on the login host: leave this field empty (or off)"
        ]
    }


def test_there_is_one_app_launcher():
    catalog = Catalog(app_launchers=("Launcher",))
    assert application_errors({**LAUNCHER, "name": "Second"}, catalog=catalog) == {
        "type": [
            'application "Launcher" is already the App Launcher; there is one, so change that one'
        ]
    }
    assert application_errors({**LAUNCHER, "name": "Launcher"}, catalog=catalog) == {}


def test_a_self_hosted_application_still_needs_a_domain():
    assert application_errors(app(domain=""), catalog=CATALOG) == {
        "domain": ["must be a host with an optional path, like app.example.com/api"]
    }


# Services and snapshot


@pytest.mark.django_db
def test_the_services_refuse_a_second_app_launcher():
    services.application_create(**LAUNCHER)

    with pytest.raises(ValidationError) as raised:
        services.application_create(**{**LAUNCHER, "name": "Another"})

    assert raised.value.message_dict == {
        "type": [
            'application "App Launcher" is already the App Launcher; there is one, '
            "so change that one"
        ]
    }
    assert Application.objects.filter(type="app_launcher").count() == 1


@pytest.mark.django_db
def test_the_database_keeps_one_app_launcher_whatever_validation_saw():
    services.application_create(**LAUNCHER)
    second = Application(name="Raced", type="app_launcher", domain="")

    with pytest.raises(ValidationError) as raised:
        services._save(second)

    assert raised.value.message_dict == {
        "__all__": ["There is one App Launcher already; change that one."]
    }


@pytest.mark.django_db
def test_the_snapshot_keeps_the_launcher_apart_and_lists_visible_applications_by_name():
    launcher = services.application_create(**LAUNCHER)
    services.policy_create(application=launcher, **PEOPLE)
    services.application_create(name="wiki", domain="wiki.example.com")
    services.application_create(
        name="Billing", domain="billing.example.com", logo_url="https://cdn.example.com/b.png"
    )
    services.application_create(
        name="Hidden", domain="hidden.example.com", app_launcher_visible=False
    )

    snapshot = build_snapshot(version=1)

    assert snapshot.app_launcher is not None
    assert snapshot.app_launcher.name == "App Launcher"
    assert [policy.name for policy in snapshot.app_launcher.policies] == ["People"]
    assert launcher.pk not in snapshot.applications
    assert launcher.aud not in snapshot.by_aud
    assert [a.name for a in snapshot.launcher_applications] == ["Billing", "wiki"]
    assert snapshot.launcher_applications[0].logo_url == "https://cdn.example.com/b.png"
    assert snapshot.applications[snapshot.launcher_applications[1].id].logo_url == ""


@pytest.mark.django_db
def test_without_a_launcher_application_the_snapshot_has_none():
    services.application_create(name="Wiki", domain="wiki.example.com")

    assert build_snapshot(version=1).app_launcher is None


# Config files


@pytest.mark.django_db
def test_a_config_file_sets_the_launcher_and_tiles_and_exports_them_again():
    data = {
        "applications": [
            {**LAUNCHER, "policies": [PEOPLE]},
            {
                "name": "Wiki",
                "domain": "wiki.example.com",
                "logo_url": "https://cdn.example.com/wiki.png",
                "app_launcher_visible": False,
            },
        ]
    }
    apply_plan(plan_config(data))

    exported = {item["name"]: item for item in export_config()["applications"]}
    assert exported["App Launcher"]["type"] == "app_launcher"
    assert exported["App Launcher"]["domain"] == ""
    assert [p["name"] for p in exported["App Launcher"]["policies"]] == ["People"]
    assert exported["Wiki"]["type"] == "self_hosted"
    assert exported["Wiki"]["logo_url"] == "https://cdn.example.com/wiki.png"
    assert exported["Wiki"]["app_launcher_visible"] is False
    assert plan_config({"applications": list(exported.values())}).changes == []


@pytest.mark.django_db
def test_a_config_file_with_two_launchers_is_refused_by_path():
    second = {**LAUNCHER, "name": "Second launcher"}

    with pytest.raises(Exception) as raised:
        plan_config({"applications": [LAUNCHER, second]})

    assert 'applications[0].type: application "Second launcher" is already the App Launcher' in str(
        raised.value
    )
    assert not Application.objects.exists()


# Admin


@pytest.mark.django_db
def test_the_admin_shows_a_bad_logo_url_on_its_field_and_saves_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        application_data(logo_url="http://cdn.example.com/wiki.png"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["logo_url"] == [LOGO_MESSAGE]
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_the_admin_saves_the_tile_fields(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        {
            **application_data(logo_url="https://cdn.example.com/wiki.png"),
            "app_launcher_visible": "",
        },
    )

    assert response.status_code == 302
    stored = Application.objects.get()
    assert (stored.type, stored.logo_url, stored.app_launcher_visible) == (
        "self_hosted",
        "https://cdn.example.com/wiki.png",
        False,
    )
