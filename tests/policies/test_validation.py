"""Every validation rule of docs/architecture.md (The wire contract), keyed by its field path."""

import pytest

from policies.catalog import Catalog, PolicyUse, group_delete_errors, reference_delete_errors
from policies.cors import cors_headers_errors
from policies.validation import (
    application_errors,
    group_errors,
    identity_provider_errors,
    policy_errors,
    policy_set_errors,
    service_token_errors,
)

CATALOG = Catalog(
    groups={
        "staff": ({"email_domain": {"domain": "example.com"}},),
        "office": ({"ip": {"ip": "10.0.0.0/8"}},),
    },
    service_tokens=frozenset({"ci"}),
    identity_providers=frozenset({"One-time PIN", "Password"}),
)

CORS = {"allowed_origins": ["https://app.example.com"], "allowed_methods": ["GET"]}


def app(**fields):
    return {"name": "App", "domain": "app.example.com", **fields}


def policy(**fields):
    return {
        "name": "Staff",
        "decision": "allow",
        "precedence": 1,
        "include": [{"email_domain": {"domain": "example.com"}}],
        **fields,
    }


# Applications


def test_a_minimal_application_is_valid():
    assert application_errors(app(), catalog=CATALOG) == {}


def test_credentials_with_all_origins_are_refused():
    errors = cors_headers_errors({**CORS, "allow_all_origins": True, "allow_credentials": True})
    assert errors["allow_credentials"] == [
        "credentials cannot be allowed for all origins; list the origins instead"
    ]


def test_credentials_with_a_star_origin_are_refused():
    errors = cors_headers_errors({**CORS, "allowed_origins": ["*"], "allow_credentials": True})
    assert "allow_credentials" in errors


def test_credentials_with_listed_origins_are_fine():
    assert cors_headers_errors({**CORS, "allow_credentials": True}) == {}


def test_origins_without_methods_are_refused():
    errors = cors_headers_errors({"allowed_origins": ["https://app.example.com"]})
    assert errors == {"allowed_methods": ["set allowed_methods or allow_all_methods"]}


def test_methods_without_origins_are_refused():
    errors = cors_headers_errors({"allow_all_methods": True})
    assert errors == {"allowed_origins": ["set allowed_origins or allow_all_origins"]}


def test_empty_cors_headers_are_refused():
    assert list(cors_headers_errors({})) == ["__all__"]


@pytest.mark.parametrize("max_age", [-1, 0, 86400])
def test_max_age_bounds_are_accepted(max_age):
    assert cors_headers_errors({**CORS, "max_age": max_age}) == {}


@pytest.mark.parametrize("max_age", [-2, 86401])
def test_max_age_outside_bounds_is_refused(max_age):
    errors = application_errors(app(cors_headers={**CORS, "max_age": max_age}), catalog=CATALOG)
    assert errors == {"cors_headers.max_age": ["must be between -1 and 86400"]}


def test_max_age_must_be_a_number():
    errors = cors_headers_errors({**CORS, "max_age": "600"})
    assert errors == {"max_age": ["must be a whole number"]}


def test_unknown_cors_method_is_refused():
    errors = cors_headers_errors({**CORS, "allowed_methods": ["GET", "FETCH"]})
    assert list(errors) == ["allowed_methods[1]"]


def test_malformed_origin_is_refused():
    errors = cors_headers_errors({**CORS, "allowed_origins": ["app.example.com"]})
    assert list(errors) == ["allowed_origins[0]"]


def test_null_origin_may_be_listed():
    assert cors_headers_errors({**CORS, "allowed_origins": ["null"]}) == {}


def test_malformed_header_name_is_refused():
    errors = cors_headers_errors({**CORS, "allowed_headers": ["X-Ok", "bad header"]})
    assert list(errors) == ["allowed_headers[1]"]


def test_preflight_bypass_and_cors_headers_exclude_each_other():
    errors = application_errors(
        app(options_preflight_bypass=True, cors_headers=CORS), catalog=CATALOG
    )
    assert list(errors) == ["options_preflight_bypass"]


def test_all_errors_are_collected_at_once():
    errors = application_errors(
        app(
            domain="bad host/a*b*",
            session_duration="forever",
            cors_headers={"allow_all_origins": True, "allow_credentials": True, "max_age": 10**6},
        ),
        catalog=CATALOG,
    )
    assert {
        "domain",
        "session_duration",
        "cors_headers.allow_credentials",
        "cors_headers.allowed_methods",
        "cors_headers.max_age",
    } <= set(errors)


def test_invalid_domain_pattern_is_refused():
    errors = application_errors(app(domain="example.com/a**"), catalog=CATALOG)
    assert list(errors) == ["domain"]


def test_invalid_destination_is_keyed_by_index():
    errors = application_errors(
        app(destinations=["api.example.com", "exa*mp*le.com"]), catalog=CATALOG
    )
    assert list(errors) == ["destinations[1]"]


def test_at_most_five_patterns_per_application():
    destinations = [f"d{n}.example.com" for n in range(5)]
    errors = application_errors(app(destinations=destinations), catalog=CATALOG)
    assert errors == {
        "destinations": ["at most 4 destinations besides the domain (5 patterns in all)"]
    }


def test_a_pattern_repeated_within_an_application_is_refused():
    errors = application_errors(app(destinations=["APP.example.com"]), catalog=CATALOG)
    assert list(errors) == ["destinations[0]"]


def test_a_pattern_of_another_application_is_refused():
    catalog = Catalog(application_patterns=(("Other", "app.example.com"),))
    errors = application_errors(app(), catalog=catalog)
    assert list(errors) == ["domain"]


def test_own_stored_pattern_does_not_clash():
    catalog = Catalog(application_patterns=(("App", "app.example.com"),))
    assert application_errors(app(), catalog=catalog, current_name="App") == {}


@pytest.mark.parametrize("duration", ["30m", "2h45m", "24h", "1.5h"])
def test_go_durations_are_accepted(duration):
    assert application_errors(app(session_duration=duration), catalog=CATALOG) == {}


@pytest.mark.parametrize("duration", ["1 day", "", "0s", "-5m", 24])
def test_bad_durations_are_refused(duration):
    errors = application_errors(app(session_duration=duration), catalog=CATALOG)
    assert list(errors) == ["session_duration"]


def test_same_site_must_be_a_known_value():
    errors = application_errors(app(same_site_cookie_attribute="relaxed"), catalog=CATALOG)
    assert errors == {"same_site_cookie_attribute": ["must be one of none, lax, strict"]}


def test_booleans_must_be_booleans():
    errors = application_errors(app(enable_binding_cookie="yes"), catalog=CATALOG)
    assert errors == {"enable_binding_cookie": ["must be true or false"]}


def test_deny_url_must_be_absolute_https(settings):
    settings.DEBUG = False
    errors = application_errors(
        app(custom_deny_url="http://example.com/denied", custom_non_identity_deny_url="/denied"),
        catalog=CATALOG,
    )
    assert set(errors) == {"custom_deny_url", "custom_non_identity_deny_url"}


def test_https_deny_url_is_accepted(settings):
    settings.DEBUG = False
    errors = application_errors(app(custom_deny_url="https://example.com/denied"), catalog=CATALOG)
    assert errors == {}


def test_http_deny_url_is_accepted_in_development(settings):
    settings.DEBUG = True
    errors = application_errors(app(custom_deny_url="http://localhost/denied"), catalog=CATALOG)
    assert errors == {}


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://", "https://exa mple.com/"])
def test_deny_url_without_a_host_is_refused(url):
    errors = application_errors(app(custom_deny_url=url), catalog=CATALOG)
    assert list(errors) == ["custom_deny_url"]


def test_allowed_idps_must_exist():
    errors = application_errors(app(allowed_idps=["Password", "Okta"]), catalog=CATALOG)
    assert list(errors) == ["allowed_idps[1]"]


def test_unknown_application_field_is_refused():
    errors = application_errors(app(colour="blue"), catalog=CATALOG)
    assert list(errors) == ["colour"]


def test_application_name_is_required():
    errors = application_errors(app(name="  "), catalog=CATALOG)
    assert errors == {"name": ["is required"]}


# Policies


def test_a_simple_policy_is_valid():
    assert policy_errors(policy(), catalog=CATALOG) == {}


def test_include_needs_at_least_one_rule():
    errors = policy_errors(policy(include=[]), catalog=CATALOG)
    assert list(errors) == ["include"]


def test_malformed_rule_points_at_its_parameter():
    errors = policy_errors(policy(include=[{"email": {"email": 42}}]), catalog=CATALOG)
    assert list(errors) == ["include[0].email.email"]


def test_unknown_selector_is_refused():
    errors = policy_errors(policy(require=[{"shoe_size": {"size": 42}}]), catalog=CATALOG)
    assert list(errors) == ["require[0].shoe_size.size"]


def test_bypass_takes_no_identity_selectors():
    errors = policy_errors(
        policy(decision="bypass", include=[{"email": {"email": "a@example.com"}}]),
        catalog=CATALOG,
    )
    assert list(errors) == ["include[0]"]
    assert "bypass policies take no identity selectors" in errors["include[0]"][0]


def test_bypass_takes_no_identity_selectors_inside_a_group():
    errors = policy_errors(
        policy(decision="bypass", include=[{"group": {"name": "staff"}}]), catalog=CATALOG
    )
    assert list(errors) == ["include[0]"]


def test_bypass_with_network_rules_is_valid():
    errors = policy_errors(
        policy(
            decision="bypass",
            include=[{"group": {"name": "office"}}, {"geo": {"country_code": "PT"}}],
        ),
        catalog=CATALOG,
    )
    assert errors == {}


@pytest.mark.parametrize(
    "rule", [{"service_token": {"name": "ci"}}, {"any_valid_service_token": {}}]
)
def test_service_token_selectors_need_non_identity(rule):
    errors = policy_errors(policy(decision="allow", include=[rule]), catalog=CATALOG)
    assert list(errors) == ["include[0]"]
    assert "non_identity" in errors["include[0]"][0]


def test_service_token_selector_with_non_identity_is_valid():
    rule = {"service_token": {"name": "ci"}}
    assert policy_errors(policy(decision="non_identity", include=[rule]), catalog=CATALOG) == {}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"group": {"name": "nobody"}}, "include[0].group.name"),
        ({"service_token": {"name": "nobody"}}, "include[0].service_token.name"),
        ({"login_method": {"name": "Okta"}}, "include[0].login_method.name"),
    ],
)
def test_references_by_name_must_exist(rule, path):
    decision = "non_identity" if "service_token" in rule else "allow"
    errors = policy_errors(policy(decision=decision, include=[rule]), catalog=CATALOG)
    assert list(errors) == [path]


def test_policy_decision_must_be_known():
    errors = policy_errors(policy(decision="maybe"), catalog=CATALOG)
    assert errors == {"decision": ["must be one of allow, deny, non_identity, bypass"]}


def test_policy_session_duration_is_optional_but_valid():
    assert policy_errors(policy(session_duration=""), catalog=CATALOG) == {}
    assert list(policy_errors(policy(session_duration="soon"), catalog=CATALOG)) == [
        "session_duration"
    ]


def test_precedence_must_be_unique_in_a_set():
    errors = policy_set_errors(
        [policy(name="A", precedence=1), policy(name="B", precedence=1)], catalog=CATALOG
    )
    assert list(errors) == ["[1].precedence"]
    assert 'already used by policy "A"' in errors["[1].precedence"][0]


def test_policy_names_must_be_unique_in_a_set():
    errors = policy_set_errors(
        [policy(name="A", precedence=1), policy(name="A", precedence=2)], catalog=CATALOG
    )
    assert list(errors) == ["[1].name"]


# Groups


def test_group_cannot_contain_itself():
    errors = group_errors(
        {"name": "staff", "include": [{"group": {"name": "staff"}}]}, catalog=CATALOG
    )
    assert list(errors) == ["include"]


def test_group_cycle_through_another_group_is_refused():
    catalog = Catalog(groups={"a": ({"group": {"name": "b"}},), "b": ({"everyone": {}},)})
    errors = group_errors(
        {"name": "b", "include": [{"group": {"name": "a"}}]}, catalog=catalog, current_name="b"
    )
    assert "a → b" in errors["include"][0] or "b → a" in errors["include"][0]


def test_nested_groups_without_a_cycle_are_valid():
    errors = group_errors(
        {"name": "both", "include": [{"group": {"name": "staff"}}]}, catalog=CATALOG
    )
    assert errors == {}


def test_group_change_that_breaks_a_bypass_policy_is_refused():
    catalog = Catalog(
        groups={"office": ({"ip": {"ip": "10.0.0.0/8"}},)},
        policies=(PolicyUse("App", "Office", "bypass", ({"group": {"name": "office"}},)),),
    )
    errors = group_errors(
        {"name": "office", "include": [{"email": {"email": "a@example.com"}}]},
        catalog=catalog,
        current_name="office",
    )
    assert list(errors) == ["include"]
    assert 'policy "Office" of application "App"' in errors["include"][0]


def test_group_in_use_cannot_be_deleted():
    catalog = Catalog(
        policies=(PolicyUse("App", "Staff", "allow", ({"group": {"name": "staff"}},)),)
    )
    assert list(group_delete_errors("staff", catalog=catalog)) == ["name"]


def test_unused_group_can_be_deleted():
    assert group_delete_errors("staff", catalog=CATALOG) == {}


def test_service_token_in_use_cannot_be_deleted():
    catalog = Catalog(groups={"machines": ({"service_token": {"name": "ci"}},)})
    assert list(reference_delete_errors("service_token", "ci", catalog=catalog)) == ["name"]


# Service tokens and identity providers


@pytest.mark.parametrize("duration", ["8760h", "forever", "30m"])
def test_service_token_durations(duration):
    assert service_token_errors({"name": "ci", "duration": duration}) == {}


def test_service_token_duration_must_be_valid():
    assert list(service_token_errors({"name": "ci", "duration": "a year"})) == ["duration"]


@pytest.mark.parametrize(
    "client_id",
    ["abc.access", "E367826F93B8D71185E03FE518AFF3B4.access", "e367826f93b8d71185e03fe518aff3b4"],
)
def test_client_id_format_is_enforced(client_id):
    assert list(service_token_errors({"name": "ci", "client_id": client_id})) == ["client_id"]


def test_client_secret_must_be_long():
    assert list(service_token_errors({"name": "ci", "client_secret": "short"})) == ["client_secret"]


def test_identity_provider_type_must_be_known():
    errors = identity_provider_errors({"name": "Okta", "type": "ldap"})
    assert errors == {
        "type": ["must be one of onetimepin, password, oidc, google, azureAD, okta, github"]
    }


PROVIDERS = Catalog(
    identity_providers=frozenset({"One-time PIN", "Corp", "GitHub"}),
    identity_provider_ids={"1": "onetimepin", "3": "oidc", "4": "github"},
)


@pytest.mark.parametrize(
    ("rule", "errors"),
    [
        ({"login_method": {"id": 3}}, {}),
        ({"login_method": {"name": "Corp"}}, {}),
        (
            {"login_method": {"id": 9}},
            {"include[0].login_method.id": ["no identity provider has the id 9"]},
        ),
        (
            {"login_method": {"name": "Nope"}},
            {
                "include[0].login_method.name": [
                    'no identity provider is named "Nope"; create it first or fix the name'
                ]
            },
        ),
        (
            {"oidc": {"claim_name": "groups", "claim_value": "a", "identity_provider_id": 3}},
            {},
        ),
        (
            {"oidc": {"claim_name": "groups", "claim_value": "a", "identity_provider_id": 9}},
            {"include[0].oidc.identity_provider_id": ["no identity provider has the id 9"]},
        ),
        (
            {"oidc": {"claim_name": "groups", "claim_value": "a", "identity_provider_id": 1}},
            {
                "include[0].oidc.identity_provider_id": [
                    "identity provider 1 is of type onetimepin; oidc rules need an OpenID "
                    "Connect provider (oidc, google, azureAD, okta)"
                ]
            },
        ),
        ({"github-organization": {"name": "acme", "identity_provider_id": 4}}, {}),
        (
            {"github-organization": {"name": "acme", "identity_provider_id": 3}},
            {
                "include[0].github-organization.identity_provider_id": [
                    "identity provider 3 is of type oidc, not github"
                ]
            },
        ),
        (
            {"saml": {"attribute_name": "g", "attribute_value": "a"}},
            {
                "include[0].saml": [
                    "saml rules are not supported yet: accessproject has no SAML identity "
                    "providers; use an OpenID Connect provider and "
                    '{"oidc": {"claim_name": ..., "claim_value": ...}}'
                ]
            },
        ),
    ],
)
def test_rules_naming_a_provider_are_checked_against_the_catalog(rule, errors):
    assert policy_errors(policy(include=[rule]), catalog=PROVIDERS) == errors


@pytest.mark.parametrize(
    "rule",
    [
        {"oidc": {"claim_name": "groups", "claim_value": "a", "identity_provider_id": 3}},
        {"github-organization": {"name": "acme"}},
    ],
)
def test_bypass_policies_take_no_provider_claims(rule):
    errors = policy_errors(policy(decision="bypass", include=[rule]), catalog=PROVIDERS)
    assert list(errors) == ["include[0]"]
    assert "bypass policies take no identity selectors" in errors["include[0]"][0]


def test_a_provider_named_by_id_cannot_be_deleted():
    from policies.catalog import provider_delete_errors

    catalog = Catalog(
        groups={"admins": ({"login_method": {"id": "3"}},)},
        identity_provider_ids={"3": "oidc"},
        policies=(
            PolicyUse(
                application="Wiki",
                name="Admins",
                decision="allow",
                rules=(
                    {"oidc": {"claim_name": "g", "claim_value": "a", "identity_provider_id": 3}},
                ),
            ),
        ),
    )
    assert provider_delete_errors(3, "Corp", catalog=catalog) == {
        "name": [
            'is used by policy "Admins" of application "Wiki"; remove those rules first',
            'is used by group "admins"; remove those rules first',
        ]
    }
    assert provider_delete_errors(4, "Other", catalog=catalog) == {}
