"""Policy rules: compiling every selector, refusing bad shapes, and matching subjects."""

from ipaddress import ip_address

import pytest

from policies.rules import (
    CompiledGroup,
    RuleError,
    Subject,
    compile_rule,
    compile_rules,
    evaluate_rules,
    rules_match,
)

ANN = Subject(
    email="ann@example.com",
    ip=ip_address("192.0.2.10"),
    country="PT",
    login_method="One-time PIN",
    auth_methods=frozenset({"otp"}),
)
TOKEN = Subject(service_token="ci-deploy", is_service_token=True, ip=ip_address("198.51.100.7"))
NOBODY = Subject()
NO_GROUPS: dict[str, CompiledGroup] = {}


def matches(data, subject, groups=NO_GROUPS):
    return compile_rule(data).matches(subject, groups)


# --- compiling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "is_identity"),
    [
        ({"everyone": {}}, "everyone", False),
        ({"email": {"email": "ann@example.com"}}, "email", True),
        ({"email_domain": {"domain": "example.com"}}, "email_domain", True),
        ({"ip": {"ip": "192.0.2.0/24"}}, "ip", False),
        ({"geo": {"country_code": "PT"}}, "geo", False),
        ({"group": {"name": "Engineering"}}, "group", True),
        ({"service_token": {"name": "ci-deploy"}}, "service_token", False),
        ({"any_valid_service_token": {}}, "any_valid_service_token", False),
        ({"login_method": {"name": "One-time PIN"}}, "login_method", True),
        ({"auth_method": {"auth_method": "mfa"}}, "auth_method", True),
    ],
)
def test_compile_rule_reads_every_selector(data, kind, is_identity):
    rule = compile_rule(data)
    assert (rule.kind, rule.is_identity) == (kind, is_identity)
    assert rule.to_data() == data


@pytest.mark.parametrize(
    ("data", "normalized"),
    [
        ({"email": {"email": " Ann@Example.COM "}}, {"email": {"email": "ann@example.com"}}),
        ({"email_domain": {"domain": "Example.COM"}}, {"email_domain": {"domain": "example.com"}}),
        ({"ip": {"ip": "192.0.2.1"}}, {"ip": {"ip": "192.0.2.1/32"}}),
        ({"ip": {"ip": "2001:DB8::/32"}}, {"ip": {"ip": "2001:db8::/32"}}),
        ({"geo": {"country_code": "pt"}}, {"geo": {"country_code": "PT"}}),
        ({"auth_method": {"auth_method": "MFA"}}, {"auth_method": {"auth_method": "mfa"}}),
    ],
)
def test_compile_rule_normalizes_values(data, normalized):
    assert compile_rule(data).to_data() == normalized


NOT_A_RULE = (
    'a rule must be an object with one selector, for example {"email": {"email": '
    '"ann@example.com"}}; got '
)
EMAIL = ', for example {"email": {"email": "ann@example.com"}}'
NOT_AN_ADDRESS = "is not an email address like ann@example.com"
NOT_A_DOMAIN = "is not a domain; write it like example.com (no @, no wildcard)"
NOT_AN_IP = "is not an IP address or CIDR range like 192.0.2.0/24 or 2001:db8::/32"
TWO_LETTERS = "must be a two-letter country code like PT"
SELECTOR_NAMES = (
    "everyone, email, email_domain, ip, geo, group, service_token, any_valid_service_token, "
    "login_method, auth_method, oidc, github-organization, saml"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("everyone", NOT_A_RULE + "str"),
        (["everyone"], NOT_A_RULE + "list"),
        (None, NOT_A_RULE + "NoneType"),
        (
            {},
            "a rule must have exactly one selector (found 0: none); "
            "put each selector in its own rule",
        ),
        (
            {"everyone": {}, "email": {"email": "a@b.c"}},
            "a rule must have exactly one selector (found 2: email, everyone); "
            "put each selector in its own rule",
        ),
        (
            {"email_list": {"id": "x"}},
            f"unknown selector 'email_list'; use one of: {SELECTOR_NAMES}",
        ),
        ({"email": "ann@example.com"}, "email needs an object of fields" + EMAIL),
        ({"email": {}}, "email is missing field 'email'" + EMAIL),
        (
            {"everyone": {"x": 1}},
            "everyone has unexpected field 'x', for example {\"everyone\": {}}",
        ),
        ({"email": {"email": "a@example.com", "id": 1}}, "email has unexpected field 'id'" + EMAIL),
        (
            {"email": {"email": "a@example.com", "b": 1, "a": 2}},
            "email has unexpected field 'a'" + EMAIL,
        ),
        (
            {"email": {"email": 3}},
            "email.email must be a non-empty string, for example 'ann@example.com'",
        ),
        (
            {"email": {"email": "  "}},
            "email.email must be a non-empty string, for example 'ann@example.com'",
        ),
        ({"email": {"email": "ann"}}, f"email.email 'ann' {NOT_AN_ADDRESS}"),
        ({"email": {"email": "@example.com"}}, f"email.email '@example.com' {NOT_AN_ADDRESS}"),
        ({"email": {"email": "ann@"}}, f"email.email 'ann@' {NOT_AN_ADDRESS}"),
        (
            {"email": {"email": "a nn@example.com"}},
            f"email.email 'a nn@example.com' {NOT_AN_ADDRESS}",
        ),
        (
            {"email_domain": {"domain": "@example.com"}},
            f"email_domain.domain '@example.com' {NOT_A_DOMAIN}",
        ),
        (
            {"email_domain": {"domain": "*.example.com"}},
            f"email_domain.domain '*.example.com' {NOT_A_DOMAIN}",
        ),
        (
            {"email_domain": {"domain": "example..com"}},
            f"email_domain.domain 'example..com' {NOT_A_DOMAIN}",
        ),
        (
            {"ip": {"ip": "10.0.0.1/8"}},
            "ip.ip '10.0.0.1/8' has host bits set; write the network, '10.0.0.0/8'",
        ),
        ({"ip": {"ip": "10.0.0.0/33"}}, f"ip.ip '10.0.0.0/33' {NOT_AN_IP}"),
        ({"ip": {"ip": "example.com"}}, f"ip.ip 'example.com' {NOT_AN_IP}"),
        ({"geo": {"country_code": "PRT"}}, f"geo.country_code 'PRT' {TWO_LETTERS}"),
        ({"geo": {"country_code": "P1"}}, f"geo.country_code 'P1' {TWO_LETTERS}"),
        (
            {"group": {"name": ""}},
            "group.name must be a non-empty string, for example 'Engineering'",
        ),
        (
            {"group": {"id": 3}},
            'group is missing field \'name\', for example {"group": {"name": "Engineering"}}',
        ),
        (
            {"service_token": {"name": None}},
            "service_token.name must be a non-empty string, for example 'ci-deploy'",
        ),
        (
            {"login_method": {"name": 7}},
            "login_method.name must be a non-empty string, for example 'One-time PIN'",
        ),
        (
            {"auth_method": {"auth_method": "m f a"}},
            "auth_method.auth_method 'm f a' must be an RFC 8176 method such as mfa, pwd or otp",
        ),
    ],
)
def test_compile_rule_refuses_malformed_rules(data, message):
    with pytest.raises(RuleError) as refused:
        compile_rule(data)
    assert str(refused.value) == message


def test_rule_error_is_a_value_error():
    assert issubclass(RuleError, ValueError)


def test_compile_rules_compiles_a_list():
    rules = compile_rules([{"everyone": {}}, {"geo": {"country_code": "PT"}}], where="include")
    assert [rule.kind for rule in rules] == ["everyone", "geo"]


def test_compile_rules_names_the_position_of_a_bad_rule():
    with pytest.raises(RuleError) as refused:
        compile_rules([{"everyone": {}}, {"nope": {}}], where="require")
    assert (
        str(refused.value) == f"require[1]: unknown selector 'nope'; use one of: {SELECTOR_NAMES}"
    )


def test_compile_rules_refuses_a_non_list():
    with pytest.raises(RuleError) as refused:
        compile_rules({"everyone": {}}, where="include")
    assert str(refused.value) == "include must be a list of rules"


def test_rule_str_names_selector_and_value():
    assert str(compile_rule({"email": {"email": "ann@example.com"}})) == "email ann@example.com"
    assert str(compile_rule({"everyone": {}})) == "everyone"


# --- matching -----------------------------------------------------------------------------------


def test_everyone_matches_anybody():
    assert matches({"everyone": {}}, NOBODY) is True


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ann@example.com", True),
        ("ANN@Example.com", True),
        ("bob@example.com", False),
        ("ann@example.com.evil.net", False),
        (None, False),
    ],
)
def test_email_compares_whole_address_case_insensitively(email, expected):
    assert matches({"email": {"email": "Ann@example.com"}}, Subject(email=email)) is expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ann@example.com", True),
        ("Ann@EXAMPLE.com", True),
        ("ann@evil-example.com", False),
        ("ann@example.com.evil.net", False),
        ("ann@sub.example.com", False),
        ("example.com", False),
        ("@example.com", False),
        ('"x@y"@example.com', True),
        (None, False),
    ],
)
def test_email_domain_compares_the_domain_exactly(email, expected):
    assert matches({"email_domain": {"domain": "example.com"}}, Subject(email=email)) is expected


@pytest.mark.parametrize(
    ("rule_ip", "client", "expected"),
    [
        ("192.0.2.0/24", "192.0.2.10", True),
        ("192.0.2.0/24", "192.0.3.10", False),
        ("192.0.2.10", "192.0.2.10", True),
        ("192.0.2.10", "192.0.2.11", False),
        ("192.0.2.0/24", "::ffff:192.0.2.10", True),
        ("192.0.2.0/24", "::ffff:192.0.3.10", False),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("2001:db8::/32", "192.0.2.10", False),
        ("0.0.0.0/0", "2001:db8::1", False),
    ],
)
def test_ip_matches_ipv4_and_ipv6_ranges(rule_ip, client, expected):
    assert matches({"ip": {"ip": rule_ip}}, Subject(ip=ip_address(client))) is expected


def test_ip_without_a_client_address_does_not_match():
    assert matches({"ip": {"ip": "0.0.0.0/0"}}, NOBODY) is False


@pytest.mark.parametrize(
    ("country", "expected"), [("PT", True), ("pt", True), ("ES", False), (None, False)]
)
def test_geo_compares_the_country_code(country, expected):
    assert matches({"geo": {"country_code": "PT"}}, Subject(country=country)) is expected


def test_service_token_matches_that_token_only():
    rule = {"service_token": {"name": "ci-deploy"}}
    assert matches(rule, TOKEN) is True
    assert matches(rule, Subject(service_token="other", is_service_token=True)) is False


def test_service_token_needs_a_service_token_subject():
    assert (
        matches({"service_token": {"name": "ci-deploy"}}, Subject(service_token="ci-deploy"))
        is False
    )


def test_any_valid_service_token_matches_service_tokens_only():
    assert matches({"any_valid_service_token": {}}, TOKEN) is True
    assert matches({"any_valid_service_token": {}}, ANN) is False


@pytest.mark.parametrize(
    ("login_method", "expected"),
    [("One-time PIN", True), ("one-time pin", True), ("Password", False), (None, False)],
)
def test_login_method_compares_names_case_insensitively(login_method, expected):
    assert (
        matches({"login_method": {"name": "One-Time PIN"}}, Subject(login_method=login_method))
        is expected
    )


@pytest.mark.parametrize(
    ("methods", "expected"),
    [({"pwd", "mfa"}, True), ({"MFA"}, True), ({"pwd"}, False), (set(), False)],
)
def test_auth_method_checks_the_subjects_methods(methods, expected):
    assert (
        matches({"auth_method": {"auth_method": "mfa"}}, Subject(auth_methods=frozenset(methods)))
        is expected
    )


# --- groups -------------------------------------------------------------------------------------


def group(name, include, require=(), exclude=()):
    return CompiledGroup(
        name,
        tuple(map(compile_rule, include)),
        tuple(map(compile_rule, require)),
        tuple(map(compile_rule, exclude)),
    )


STAFF = group(
    "Staff",
    [{"email_domain": {"domain": "example.com"}}],
    exclude=[{"email": {"email": "eve@example.com"}}],
)


def test_group_matches_through_its_rules():
    groups = {"Staff": STAFF}
    assert matches({"group": {"name": "Staff"}}, ANN, groups) is True
    assert matches({"group": {"name": "Staff"}}, Subject(email="eve@example.com"), groups) is False
    assert matches({"group": {"name": "Staff"}}, Subject(email="ann@other.com"), groups) is False


def test_nested_groups_match():
    groups = {
        "Staff": STAFF,
        "Everyone at work": group("Everyone at work", [{"group": {"name": "Staff"}}]),
    }
    assert matches({"group": {"name": "Everyone at work"}}, ANN, groups) is True


def test_unknown_group_does_not_match():
    assert matches({"group": {"name": "Missing"}}, ANN, {}) is False


def test_group_cycle_does_not_match():
    groups = {
        "A": group("A", [{"group": {"name": "B"}}]),
        "B": group("B", [{"group": {"name": "A"}}, {"email": {"email": "x@y.z"}}]),
    }
    assert matches({"group": {"name": "A"}}, ANN, groups) is False
    assert matches({"group": {"name": "A"}}, Subject(email="x@y.z"), groups) is True


# --- include / require / exclude ----------------------------------------------------------------


def compiled(*rules):
    return tuple(map(compile_rule, rules))


EXAMPLE = {"email_domain": {"domain": "example.com"}}
PORTUGAL = {"geo": {"country_code": "PT"}}
SPAIN = {"geo": {"country_code": "ES"}}


def test_include_is_an_or():
    assert rules_match(compiled(SPAIN, EXAMPLE), (), (), ANN, {}) is True


def test_empty_include_admits_nobody():
    assert rules_match((), compiled(EXAMPLE), (), ANN, {}) is False


def test_require_is_an_and():
    assert rules_match(compiled(EXAMPLE), compiled(PORTUGAL), (), ANN, {}) is True
    assert rules_match(compiled(EXAMPLE), compiled(PORTUGAL, SPAIN), (), ANN, {}) is False


def test_exclude_is_a_not():
    assert rules_match(compiled(EXAMPLE), (), compiled(SPAIN), ANN, {}) is True
    assert rules_match(compiled(EXAMPLE), (), compiled(SPAIN, PORTUGAL), ANN, {}) is False


def test_evaluate_rules_names_the_matching_include():
    outcome = evaluate_rules(compiled(SPAIN, EXAMPLE), (), (), ANN, {})
    assert outcome.explanation == "include email_domain example.com matched"


def test_evaluate_rules_names_the_failed_require():
    outcome = evaluate_rules(compiled(EXAMPLE), compiled(PORTUGAL, SPAIN), (), ANN, {})
    assert (
        outcome.explanation == "include email_domain example.com matched, but require geo ES failed"
    )


def test_evaluate_rules_names_the_exclude_hit():
    outcome = evaluate_rules(compiled(EXAMPLE), (), compiled(PORTUGAL), ANN, {})
    assert (
        outcome.explanation
        == "include email_domain example.com matched, but exclude geo PT matched"
    )


def test_evaluate_rules_says_when_no_include_matched():
    outcome = evaluate_rules(compiled(SPAIN), (), (), ANN, {})
    assert (outcome.matched, outcome.explanation) == (False, "no include rule matched")


# --- identity providers: by id, their claims, GitHub organisations -----------------------------

CORP_ALICE = Subject(
    email="alice@example.com",
    login_method="Corp",
    idp_id="3",
    idp_type="oidc",
    idp_groups=frozenset({"admins", "staff"}),
    idp_claims={"department": "ops", "roles": ["reader", "auditor"], "level": 3, "vip": True},
)
GITHUB_BOB = Subject(
    email="bob@example.com",
    login_method="GitHub",
    idp_id="4",
    idp_type="github",
    idp_groups=frozenset({"acme", "acme/site-ops", "other"}),
)


@pytest.mark.parametrize(
    ("data", "subject", "expected"),
    [
        ({"login_method": {"id": 3}}, CORP_ALICE, True),
        ({"login_method": {"id": "3"}}, CORP_ALICE, True),
        ({"login_method": {"id": 4}}, CORP_ALICE, False),
        ({"login_method": {"id": 3}}, Subject(login_method="Corp"), False),
        ({"login_method": {"name": "corp"}}, CORP_ALICE, True),
    ],
)
def test_login_method_by_id_or_by_name(data, subject, expected):
    assert matches(data, subject) is expected


def test_login_method_keeps_the_form_it_was_given():
    assert compile_rule({"login_method": {"id": "3"}}).to_data() == {"login_method": {"id": "3"}}
    assert compile_rule({"login_method": {"name": "Corp"}}).to_data() == {
        "login_method": {"name": "Corp"}
    }


ONE_PROVIDER = (
    'login_method takes the identity provider\'s "id" or its "name", one of them, '
    'for example {"login_method": {"id": 3}}'
)
NOT_A_PROVIDER_ID = "login_method.id must be an identity provider's id, for example 3"
NO_SAML = (
    "saml rules are not supported yet: accessproject has no SAML identity providers; "
    'use an OpenID Connect provider and {"oidc": {"claim_name": ..., "claim_value": ...}}'
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"login_method": {}}, ONE_PROVIDER),
        ({"login_method": {"id": 3, "name": "Corp"}}, ONE_PROVIDER),
        ({"login_method": {"id": "three"}}, NOT_A_PROVIDER_ID),
        ({"login_method": {"id": "٣"}}, NOT_A_PROVIDER_ID),
        ({"login_method": {"id": True}}, NOT_A_PROVIDER_ID),
        ({"login_method": {"id": 0}}, NOT_A_PROVIDER_ID),
        ({"login_method": {"id": -3}}, NOT_A_PROVIDER_ID),
        (
            {"oidc": {"claim_name": "groups", "claim_value": "admins"}},
            "oidc is missing field 'identity_provider_id', for example "
            '{"oidc": {"claim_name": "groups", "claim_value": "admins", '
            '"identity_provider_id": 3}}',
        ),
        (
            {"oidc": {"claim_name": "", "claim_value": "a", "identity_provider_id": 3}},
            "oidc.claim_name must be a non-empty string, for example 'groups'",
        ),
        (
            {"github-organization": {"team": "ops"}},
            "github-organization is missing field 'name', for example "
            '{"github-organization": {"name": "acme", "team": "site-ops", '
            '"identity_provider_id": 4}}',
        ),
        ({"saml": {"attribute_name": "group", "attribute_value": "admins"}}, NO_SAML),
        ({"saml": {}}, NO_SAML),
        ({"saml": "attributes"}, NO_SAML),
    ],
)
def test_provider_selectors_refuse_bad_shapes(data, message):
    with pytest.raises(RuleError) as refused:
        compile_rule(data)
    assert str(refused.value) == message


def oidc(claim_name, claim_value, provider=3):
    return {
        "oidc": {
            "claim_name": claim_name,
            "claim_value": claim_value,
            "identity_provider_id": provider,
        }
    }


@pytest.mark.parametrize(
    ("data", "subject", "expected"),
    [
        (oidc("groups", "admins"), CORP_ALICE, True),
        (oidc("groups", "Admins"), CORP_ALICE, False),  # claim values compare exactly
        (oidc("groups", "nobody"), CORP_ALICE, False),
        (oidc("department", "ops"), CORP_ALICE, True),
        (oidc("department", "op"), CORP_ALICE, False),
        (oidc("roles", "auditor"), CORP_ALICE, True),
        (oidc("level", "3"), CORP_ALICE, True),
        (oidc("vip", "true"), CORP_ALICE, True),
        (oidc("missing", "x"), CORP_ALICE, False),
        # The same claim from another provider never counts.
        (oidc("groups", "admins", provider=9), CORP_ALICE, False),
        (oidc("groups", "acme", provider=4), GITHUB_BOB, True),
        (oidc("groups", "admins"), NOBODY, False),
    ],
)
def test_oidc_claim_rules(data, subject, expected):
    assert matches(data, subject) is expected


CLAIMS = Subject(
    idp_id="3",
    idp_type="oidc",
    idp_claims={
        "mfa": False,
        "ratio": 2.5,
        "flags": [True, 7],
        "nested": [["admins"], "staff"],
        "object": {"admins": True},
        "empty": "",
    },
)


@pytest.mark.parametrize(
    ("claim_name", "claim_value", "expected"),
    [
        # JSON true and false are the text "true" and "false", exactly
        ("mfa", "false", True),
        ("mfa", "False", False),
        ("mfa", "true", False),
        ("mfa", "0", False),
        # numbers compare as their text
        ("ratio", "2.5", True),
        ("ratio", "2", False),
        # a list holds each of its scalar items, never the items of a list inside it
        ("flags", "true", True),
        ("flags", "7", True),
        ("flags", "false", False),
        ("nested", "staff", True),
        ("nested", "admins", False),
        # an object never matches, whatever it holds
        ("object", "admins", False),
        ("object", "{'admins': True}", False),
        ("empty", "x", False),
    ],
)
def test_oidc_claims_that_are_not_strings(claim_name, claim_value, expected):
    assert matches(oidc(claim_name, claim_value), CLAIMS) is expected


@pytest.mark.parametrize(
    ("fields", "subject", "expected"),
    [
        ({"name": "acme"}, GITHUB_BOB, True),
        ({"name": "ACME"}, GITHUB_BOB, True),
        ({"name": "acme", "team": "site-ops"}, GITHUB_BOB, True),
        ({"name": "acme", "team": "Site Ops"}, GITHUB_BOB, True),  # a team's name is its slug
        ({"name": "acme", "team": "payroll"}, GITHUB_BOB, False),
        ({"name": "other", "team": "site-ops"}, GITHUB_BOB, False),
        ({"name": "acme", "identity_provider_id": 4}, GITHUB_BOB, True),
        ({"name": "acme", "identity_provider_id": 5}, GITHUB_BOB, False),
        # Groups from an OpenID Connect provider are not GitHub organisations.
        ({"name": "admins"}, CORP_ALICE, False),
        ({"name": "acme"}, NOBODY, False),
    ],
)
def test_github_organization_rules(fields, subject, expected):
    assert matches({"github-organization": fields}, subject) is expected


def test_provider_selectors_are_identity_rules():
    assert compile_rule(oidc("groups", "admins")).is_identity
    assert compile_rule({"github-organization": {"name": "acme"}}).is_identity


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"github-organization": {"name": ""}},
            "github-organization.name must be a non-empty string, for example 'acme'",
        ),
        (
            {"github-organization": {"name": "acme", "team": 5}},
            "github-organization.team must be a non-empty string, for example 'site-ops'",
        ),
        (
            {"github-organization": {"name": "acme", "identity_provider_id": "x"}},
            "github-organization.identity_provider_id must be an identity provider's id, "
            "for example 3",
        ),
        (
            {"oidc": {"claim_name": "", "claim_value": "a", "identity_provider_id": 1}},
            "oidc.claim_name must be a non-empty string, for example 'groups'",
        ),
        (
            {"oidc": {"claim_name": "g", "claim_value": " ", "identity_provider_id": 1}},
            "oidc.claim_value must be a non-empty string, for example 'admins'",
        ),
        (
            {"oidc": {"claim_name": "g", "claim_value": "a", "identity_provider_id": 0}},
            "oidc.identity_provider_id must be an identity provider's id, for example 3",
        ),
        ({"ip": {"ip": ""}}, "ip.ip must be a non-empty string, for example '192.0.2.0/24'"),
        (
            {"geo": {"country_code": 3}},
            "geo.country_code must be a non-empty string, for example 'PT'",
        ),
        (
            {"email": {"email": ""}},
            "email.email must be a non-empty string, for example 'ann@example.com'",
        ),
        (
            {"email_domain": {"domain": ""}},
            "email_domain.domain must be a non-empty string, for example 'example.com'",
        ),
        (
            {"login_method": {"id": "x"}},
            "login_method.id must be an identity provider's id, for example 3",
        ),
        (
            {"auth_method": {"auth_method": ""}},
            "auth_method.auth_method must be a non-empty string, for example 'mfa'",
        ),
        (
            {"group": {"id": ""}},
            'group is missing field \'name\', for example {"group": {"name": "Engineering"}}',
        ),
    ],
)
def test_a_bad_field_is_named_with_its_selector_and_an_example(data, message):
    with pytest.raises(RuleError) as raised:
        compile_rule(data)
    assert str(raised.value) == message


def test_a_github_organization_rule_without_team_or_provider_holds_empty_strings():
    rule = compile_rule({"github-organization": {"name": "ACME"}})
    assert (rule.name, rule.team, rule.identity_provider_id) == ("acme", "", "")
    rule = compile_rule(
        {"github-organization": {"name": "acme", "team": "Site Ops", "identity_provider_id": "7"}}
    )
    assert (rule.name, rule.team, rule.identity_provider_id) == ("acme", "site-ops", "7")


@pytest.mark.parametrize(
    "data",
    [
        {"oidc": {"claim_name": "groups", "claim_value": "admins", "identity_provider_id": "3"}},
        {"github-organization": {"name": "acme"}},
        {"github-organization": {"name": "acme", "team": "site-ops"}},
        {"github-organization": {"name": "acme", "identity_provider_id": "7"}},
        {"github-organization": {"name": "acme", "team": "site-ops", "identity_provider_id": "7"}},
    ],
)
def test_identity_claim_rules_write_back_what_they_read(data):
    """What `access_export` and the API write out is the rule as it was given."""
    assert compile_rule(data).to_data() == data
