"""Warnings about self-defeating configurations: computed once (`policies.warnings`), shown by
the admin on save, `manage.py check`, the `access_apply` plan and the API."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from policies.configfile import dump_text
from policies.models import Application, IdentityProvider
from policies.warnings import application_warnings
from tests.api.conftest import token_client
from tests.factories import ApplicationFactory, PolicyFactory, UserFactory
from tests.policies.test_admin import application_data, policy_data

STAFF = [{"email_domain": {"domain": "example.com"}}]
CORS = {"allowed_origins": ["https://web.example.com"], "allowed_methods": ["GET"]}
APP = {"name": "Wiki", "same_site_cookie_attribute": "lax"}


def allow(name="Staff", precedence=1, include=STAFF, **fields):
    return {
        "name": name,
        "decision": "allow",
        "precedence": precedence,
        "include": include,
        **fields,
    }


def warned(application=APP, policies=(), groups=None, view_sets_cors=False):
    found = application_warnings(
        application, list(policies), groups=groups or {}, view_sets_cors=view_sets_cors
    )
    return [(w.id, w.path) for w in found]


# The pure function, one warning at a time


def test_a_sound_application_has_no_warning():
    assert warned(policies=[allow()]) == []


def test_no_policy_at_all_means_nobody_enters():
    assert warned(policies=[]) == [("policies.W007", "policies")]


def test_only_block_policies_means_nobody_enters():
    block = {**allow(), "decision": "deny"}
    assert warned(policies=[block]) == [("policies.W007", "policies")]


@pytest.mark.parametrize("decision", ["bypass", "non_identity"])
def test_bypass_or_service_auth_lets_something_in(decision):
    include = [{"any_valid_service_token": {}}] if decision == "non_identity" else STAFF
    assert "policies.W007" not in dict(
        warned(policies=[{**allow(include=include), "decision": decision}])
    )


def test_an_email_outside_the_required_domain_never_matches():
    policy = allow(
        include=[{"email": {"email": "ann@example.com"}}, {"email": {"email": "bob@other.org"}}],
        require=[{"email_domain": {"domain": "Example.com"}}],
    )
    found = application_warnings(APP, [policy], groups={})
    assert [(w.id, w.path) for w in found] == [("policies.W009", "policies[0].include[1]")]
    assert "bob@other.org is outside example.com" in found[0].message


def test_an_excluded_address_never_matches():
    policy = allow(
        include=[{"email": {"email": "ann@example.com"}}],
        exclude=[{"email_domain": {"domain": "example.com"}}],
    )
    assert warned(policies=[policy]) == [("policies.W009", "policies[0].include[0]")]


def test_a_group_that_can_never_match_is_empty():
    groups = {
        "contractors": {
            "name": "contractors",
            "include": [{"email": {"email": "eve@vendor.net"}}],
            "require": [{"email_domain": {"domain": "example.com"}}],
            "exclude": [],
        },
        "staff": {"name": "staff", "include": STAFF, "require": [], "exclude": []},
    }
    policy = allow(include=[{"group": {"name": "contractors"}}, {"group": {"name": "staff"}}])
    assert warned(policies=[policy], groups=groups) == [("policies.W009", "policies[0].include[0]")]


def test_a_policy_after_an_unconditional_one_is_shadowed():
    everyone = allow(
        "Everyone", 1, include=[{"everyone": {}}], require=[{"ip": {"ip": "10.0.0.0/8"}}]
    )
    first = allow("Anyone", 1, include=[{"everyone": {}}])
    later = {**allow("Block contractors", 2), "decision": "deny"}
    found = application_warnings(APP, [later, first], groups={})
    shadow = [w for w in found if w.id == "policies.W010"]
    assert [w.path for w in shadow] == ["policies[0]"]
    assert '"Anyone" (precedence 1)' in shadow[0].message
    # A requirement makes the first policy narrower: nothing is shadowed.
    assert "policies.W010" not in dict(warned(policies=[later, everyone]))


def test_the_same_rules_twice_shadow_the_later_policy():
    assert warned(policies=[allow("B", 2), allow("A", 1)]) == [("policies.W010", "policies[0]")]


def test_service_auth_runs_first_so_an_earlier_precedence_allow_is_not_shadowing_it():
    service = {
        **allow("CI", 5, include=[{"any_valid_service_token": {}}]),
        "decision": "non_identity",
    }
    people = allow("People", 1, include=[{"everyone": {}}], require=STAFF)
    assert "policies.W010" not in dict(warned(policies=[people, service]))


def test_a_bypass_of_everyone_shadows_every_later_policy():
    bypass = {**allow("Open", 1, include=[{"everyone": {}}]), "decision": "bypass"}
    assert ("policies.W010", "policies[1]") in warned(policies=[bypass, allow("Staff", 2)])


def test_cors_headers_without_cors_on_responses_says_what_the_browser_does():
    application = {**APP, "same_site_cookie_attribute": "none", "cors_headers": CORS}
    found = application_warnings(application, [allow()], groups={})
    assert [(w.id, w.path) for w in found] == [("policies.W008", "cors_on_responses")]
    assert "Failed to fetch" in found[0].message
    assert warned({**application, "cors_on_responses": True}, [allow()]) == []
    assert warned(application, [allow()], view_sets_cors=True) == []


def test_credentialed_cors_needs_samesite_none():
    cors = {**CORS, "allow_credentials": True}
    application = {**APP, "cors_headers": cors, "cors_on_responses": True}
    assert warned(application, [allow()]) == [("policies.W002", "same_site_cookie_attribute")]
    assert warned({**application, "same_site_cookie_attribute": "none"}, [allow()]) == []


# Through each way of changing the configuration


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api(root):
    return token_client(root)


@pytest.mark.django_db
def test_manage_py_check_shows_each_warning_with_its_id():
    application = ApplicationFactory(name="Wiki", cors_headers=CORS)
    PolicyFactory(application=application, name="First", precedence=1)
    PolicyFactory(application=application, name="Again", precedence=2)
    err = StringIO()
    call_command("check", "--database", "default", stdout=StringIO(), stderr=err)
    text = err.getvalue()
    assert "policies.W008" in text
    assert "Failed to fetch" in text
    assert 'Policy "Again" of application "Wiki" never decides' in text
    assert "policies.W007" not in text


@pytest.mark.django_db
def test_manage_py_check_names_an_application_nobody_can_enter():
    ApplicationFactory(name="Locked")
    err = StringIO()
    call_command("check", "--database", "default", stdout=StringIO(), stderr=err)
    assert '(policies.W007) Application "Locked" has no Allow' in err.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_admin_warns_on_save(client, root):
    client.force_login(root)
    response = client.post(
        reverse("admin:policies_application_add"), application_data(), follow=True
    )
    assert response.status_code == 200
    assert Application.objects.filter(name="Dashboard").exists()  # saved: a warning, not an error
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert (
        "warning",
        'policies: Application "Dashboard" has no Allow, Bypass or Service Auth policy: nobody '
        "can enter, every request is refused. Add an Allow policy for the people who should "
        "get in.",
    ) in shown
    assert 'class="warning"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_admin_warns_of_a_shadowed_policy_and_not_of_a_sound_one(client, root):
    client.force_login(root)
    policies = [policy_data("Staff", 1), policy_data("Again", 2)]
    response = client.post(
        reverse("admin:policies_application_add"), application_data(policies), follow=True
    )
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert [level for level, _ in shown] == ["warning", "success"]
    assert shown[0][1].startswith('policies[1]: Policy "Again" of application "Dashboard" never')
    application = Application.objects.get(name="Dashboard")
    stored = {policy.name: str(policy.pk) for policy in application.policies.all()}
    kept = [
        {**policy_data("Staff", 1), "id": stored["Staff"]},
        {**policy_data("Again", 2), "id": stored["Again"], "DELETE": "on"},
    ]
    response = client.post(
        reverse("admin:policies_application_change", args=[application.pk]),
        application_data(kept),
        follow=True,
    )
    assert [m.level_tag for m in response.context["messages"]] == ["success"]


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_api_lists_warnings_beside_the_result(api):
    response = api.post(
        "/api/access/apps", {"name": "Wiki", "domain": "wiki.example.com"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert [(w["id"], w["path"]) for w in body["warnings"]] == [("policies.W007", "policies")]
    app_id = body["result"]["id"]
    response = api.post(
        f"/api/access/apps/{app_id}/policies",
        {"name": "Staff", "decision": "allow", "precedence": 1, "include": STAFF},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == []
    response = api.patch(f"/api/access/apps/{app_id}", {"cors_headers": CORS}, format="json")
    assert [w["id"] for w in response.json()["warnings"]] == ["policies.W008"]
    assert "warnings" not in api.get(f"/api/access/apps/{app_id}").json()


def _write(tmp_path, data):
    path = tmp_path / "access.yaml"
    path.write_text(dump_text(data, json_syntax=False))
    return path


def _apply(path, *args):
    out = StringIO()
    call_command("access_apply", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_access_apply_plan_lists_warnings_with_their_place(tmp_path):
    path = _write(
        tmp_path,
        {
            "applications": [
                {"name": "Docs", "domain": "docs.example.com", "policies": [allow()]},
                {"name": "Wiki", "domain": "wiki.example.com", "policies": []},
            ]
        },
    )
    out = _apply(path, "--dry-run")
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        'warning: applications[1].policies: Application "Wiki" has no Allow, Bypass or Service '
        "Auth policy: nobody can enter, every request is refused. Add an Allow policy for the "
        "people who should get in."
    ]
    _apply(path)
    assert "warning:" not in _apply(path)  # nothing changes: check reports it from now on


PROVIDER = {"name": "Company SSO", "type": "github", "config": {"client_id": "abc"}}


@pytest.fixture
def application_on_a_provider(db):
    provider = IdentityProvider.objects.create(
        name="Company SSO", type="github", config={"client_id": "abc"}
    )
    application = ApplicationFactory(name="Wiki", domain="wiki.example.com")
    application.allowed_idps.add(provider)
    PolicyFactory(application=application, name="Staff")
    return application


def test_prune_refuses_to_remove_a_provider_an_application_signs_in_with(
    tmp_path, application_on_a_provider
):
    path = _write(
        tmp_path,
        {"applications": [{"name": "Wiki", "domain": "wiki.example.com", "policies": [allow()]}]},
    )
    with pytest.raises(CommandError, match="nothing was changed"):
        _apply(path, "--prune")
    assert IdentityProvider.objects.filter(name="Company SSO").exists()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("access_apply", str(path), "--prune", stdout=StringIO(), stderr=err)
    assert (
        'identity_providers: pruning deletes identity provider "Company SSO", which application '
        '"Wiki" signs in with (allowed_idps); list it in the file, or pass --force'
    ) in err.getvalue()


def test_prune_with_force_removes_it_and_says_so(tmp_path, application_on_a_provider):
    path = _write(
        tmp_path,
        {"applications": [{"name": "Wiki", "domain": "wiki.example.com", "policies": [allow()]}]},
    )
    out = _apply(path, "--prune", "--force")
    assert 'warning: identity_providers: pruning deletes identity provider "Company SSO"' in out
    assert not IdentityProvider.objects.filter(name="Company SSO").exists()


def test_prune_of_a_provider_no_kept_application_uses_is_not_refused(
    tmp_path, application_on_a_provider
):
    path = _write(tmp_path, {"applications": [], "identity_providers": []})
    out = _apply(path, "--prune")
    assert "pruning deletes" not in out
    assert not IdentityProvider.objects.exists()
    assert not Application.objects.exists()
