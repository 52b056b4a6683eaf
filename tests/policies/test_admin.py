"""Admin pages load and save through the services; the policy tester explains decisions."""

import json

import pytest
from django.urls import reverse

from policies.models import AccessGroup, Application, IdentityProvider, Policy
from policies.snapshot import invalidate_snapshot
from tests.factories import (
    AccessGroupFactory,
    ApplicationFactory,
    PolicyFactory,
    ServiceTokenFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

STAFF = [{"email_domain": {"domain": "example.com"}}]


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    invalidate_snapshot()
    yield
    invalidate_snapshot()


def application_data(policies=(), **fields):
    data = {
        "name": "Dashboard",
        "type": "self_hosted",
        "domain": "dash.example.com",
        "destinations": "[]",
        "app_launcher_visible": "on",
        "session_duration": "24h",
        "same_site_cookie_attribute": "lax",
        "http_only_cookie_attribute": "on",
        "custom_deny_message": "",
        "custom_deny_url": "",
        "custom_non_identity_deny_url": "",
        "policies-TOTAL_FORMS": str(len(policies)),
        "policies-INITIAL_FORMS": str(sum(1 for p in policies if p.get("id"))),
        "policies-MIN_NUM_FORMS": "0",
        "policies-MAX_NUM_FORMS": "1000",
    }
    for index, policy in enumerate(policies):
        for key, value in policy.items():
            data[f"policies-{index}-{key}"] = value
    data.update(fields)
    return data


def policy_data(name, precedence, decision="allow", include=STAFF, **extra):
    return {
        "name": name,
        "decision": decision,
        "precedence": str(precedence),
        "include": json.dumps(include),
        "require": "[]",
        "exclude": "[]",
        "session_duration": "",
        **extra,
    }


@pytest.mark.parametrize(
    "model", ["application", "accessgroup", "servicetoken", "identityprovider"]
)
def test_changelist_loads(admin_client, model):
    ApplicationFactory()
    AccessGroupFactory()
    ServiceTokenFactory()
    response = admin_client.get(reverse(f"admin:policies_{model}_changelist"))
    assert response.status_code == 200


def test_changelist_search_finds_by_domain(admin_client):
    ApplicationFactory(name="Wanted", domain="wanted.example.com")
    ApplicationFactory(name="Other", domain="other.example.com")
    response = admin_client.get(reverse("admin:policies_application_changelist"), {"q": "wanted"})
    assert [row.name for row in response.context["cl"].result_list] == ["Wanted"]


@pytest.mark.parametrize(
    "model", ["application", "accessgroup", "servicetoken", "identityprovider"]
)
def test_add_page_loads(admin_client, model):
    assert admin_client.get(reverse(f"admin:policies_{model}_add")).status_code == 200


def test_change_page_loads_with_policies_in_precedence_order(admin_client):
    application = ApplicationFactory()
    PolicyFactory(application=application, name="second", precedence=2)
    PolicyFactory(application=application, name="first", precedence=1)
    response = admin_client.get(reverse("admin:policies_application_change", args=[application.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index('value="first"') < content.index('value="second"')
    assert application.aud in content


def test_add_application_with_policies_saves_through_services(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        application_data(policies=[policy_data("Staff", 1)]),
    )
    assert response.status_code == 302
    application = Application.objects.get(name="Dashboard")
    assert len(application.aud) == 64
    assert list(application.policies.values_list("name", flat=True)) == ["Staff"]


def test_invalid_cors_shows_the_error_on_the_field(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        application_data(
            cors_allow_all_origins="on", cors_allow_all_methods="on", cors_max_age="100000"
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["cors_max_age"] == ["cors_headers.max_age: must be between -1 and 86400"]
    assert not Application.objects.exists()


def test_invalid_rule_shows_the_error_on_the_policy_field(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        application_data(
            policies=[policy_data("Staff", 1, include=[{"group": {"name": "nobody"}}])]
        ),
    )
    assert response.status_code == 200
    (formset,) = response.context["inline_admin_formsets"]
    assert formset.formset.forms[0].errors["include"] == [
        'include[0].group.name: no access group is named "nobody"; create it first or fix the name'
    ]


def test_duplicate_precedence_in_the_inline_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:policies_application_add"),
        application_data(policies=[policy_data("A", 1), policy_data("B", 1)]),
    )
    assert response.status_code == 200
    assert not Application.objects.exists()


def test_swapping_precedences_in_the_inline_saves(admin_client):
    application = ApplicationFactory(name="Dashboard", domain="dash.example.com")
    first = PolicyFactory(application=application, name="A", precedence=1)
    second = PolicyFactory(application=application, name="B", precedence=2)
    response = admin_client.post(
        reverse("admin:policies_application_change", args=[application.pk]),
        application_data(
            policies=[
                policy_data("A", 2, id=str(first.pk), application=str(application.pk)),
                policy_data("B", 1, id=str(second.pk), application=str(application.pk)),
            ]
        ),
    )
    assert response.status_code == 302
    assert list(Policy.objects.order_by("precedence").values_list("name", flat=True)) == ["B", "A"]


def test_group_in_use_is_protected_from_deletion(admin_client):
    group = AccessGroupFactory(name="staff")
    PolicyFactory(include=[{"group": {"name": "staff"}}])
    url = reverse("admin:policies_accessgroup_delete", args=[group.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "is used by policy" in response.content.decode()
    assert AccessGroup.objects.filter(pk=group.pk).exists()


def test_identity_provider_in_allowed_idps_is_protected(admin_client):
    provider = IdentityProvider.objects.get(name="Password")
    ApplicationFactory().allowed_idps.add(provider)
    url = reverse("admin:policies_identityprovider_delete", args=[provider.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert "lists it in allowed_idps" in response.content.decode()
    assert IdentityProvider.objects.filter(pk=provider.pk).exists()


def test_tester_page_loads(admin_client):
    response = admin_client.get(reverse("admin:policies_application_tester"))
    assert response.status_code == 200
    assert "Policy tester" in response.content.decode()


def test_tester_shows_the_deciding_policy_in_evaluation_order(admin_client):
    application = ApplicationFactory(name="Dashboard", domain="dash.example.com")
    PolicyFactory(application=application, name="Staff", decision="allow", precedence=1)
    PolicyFactory(
        application=application,
        name="Office",
        decision="bypass",
        precedence=2,
        include=[{"ip": {"ip": "10.0.0.0/8"}}],
    )
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {"url": "https://dash.example.com/reports", "method": "GET", "email": "ann@example.com"},
    )
    verdict = response.context["verdict"]
    assert response.context["application"].name == "Dashboard"
    assert [step.policy.name for step in verdict.trace] == ["Office", "Staff"]
    assert verdict.allowed is True
    assert verdict.policy.name == "Staff"
    assert "(decided)" in response.content.decode()


def _tested_verdict(admin_client, **policy_fields):
    application = ApplicationFactory(name="Dashboard", domain="dash.example.com")
    PolicyFactory(application=application, name="Staff", precedence=1, **policy_fields)
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {"url": "https://dash.example.com/", "method": "GET", "email": "ann@example.com"},
    )
    body = response.content.decode()
    start = body.index('<p id="tester-verdict">')
    return " ".join(body[start : body.index("</p>", start) + 4].split())


APPROVERS = [{"approvals_needed": 1, "email_addresses": ["boss@example.com"]}]


@pytest.mark.parametrize(
    ("policy_fields", "verdict"),
    [
        ({}, "<strong>Allowed</strong>"),
        (
            {"purpose_justification_required": True},
            "<strong>Allowed, after a purpose justification</strong>",
        ),
        (
            {
                "purpose_justification_required": True,
                "approval_required": True,
                "approval_groups": APPROVERS,
            },
            "<strong>Allowed, after a temporary approval</strong>",
        ),
    ],
)
def test_tester_says_what_the_deciding_policy_asks_before_entering(
    admin_client, policy_fields, verdict
):
    assert _tested_verdict(admin_client, **policy_fields) == (
        f'<p id="tester-verdict">{verdict}: allowed by policy &#x27;Staff&#x27;</p>'
    )


def test_tester_asks_nothing_when_the_policy_that_asks_does_not_decide(admin_client):
    shown = _tested_verdict(
        admin_client,
        include=[{"email_domain": {"domain": "example.org"}}],
        purpose_justification_required=True,
        approval_required=True,
        approval_groups=APPROVERS,
    )
    assert shown == '<p id="tester-verdict"><strong>Denied</strong>: no policy matched</p>'


def test_tester_says_when_no_application_covers_the_url(admin_client):
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {"url": "https://nowhere.example.com/", "method": "GET"},
    )
    assert "No application covers this URL" in response.content.decode()


def test_tester_runs_a_service_token(admin_client):
    ServiceTokenFactory(name="ci")
    application = ApplicationFactory(domain="api.example.com")
    PolicyFactory(
        application=application,
        name="CI",
        decision="non_identity",
        include=[{"service_token": {"name": "ci"}}],
    )
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {"url": "api.example.com/v1", "method": "GET", "service_token": "ci"},
    )
    assert response.context["verdict"].policy.name == "CI"


def test_tester_requires_staff(client):
    response = client.get(reverse("admin:policies_application_tester"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("groups", "claims", "allowed"),
    [
        ("staff, admins", "", True),
        ("staff", "", False),
        ("", '{"department": "ops"}', True),
        ("", '{"department": "sales"}', False),
    ],
)
def test_tester_takes_the_providers_groups_and_claims(admin_client, groups, claims, allowed):
    from policies.models import IdentityProvider

    corp = IdentityProvider.objects.create(name="Corp", type="oidc", config={})  # unusable
    application = ApplicationFactory(domain="dash.example.com")
    PolicyFactory(
        application=application,
        name="Admins",
        decision="allow",
        precedence=1,
        include=[
            {
                "oidc": {
                    "claim_name": "groups",
                    "claim_value": "admins",
                    "identity_provider_id": corp.pk,
                }
            },
            {
                "oidc": {
                    "claim_name": "department",
                    "claim_value": "ops",
                    "identity_provider_id": corp.pk,
                }
            },
        ],
    )
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {
            "url": "https://dash.example.com/",
            "method": "GET",
            "email": "ann@example.com",
            "login_method": "Corp",
            "groups": groups,
            "claims": claims,
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert response.context["verdict"].allowed is allowed


def test_tester_refuses_claims_that_are_not_an_object(admin_client):
    response = admin_client.get(
        reverse("admin:policies_application_tester"),
        {"url": "https://dash.example.com/", "method": "GET", "claims": "[1, 2]"},
    )
    assert response.context["form"].errors["claims"] == [
        'Enter a JSON object, like {"department": "ops"}.'
    ]
