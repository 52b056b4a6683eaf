"""The admin's rule builder: rules as (selector, value) rows, CORS settings and destinations as
fields of their own, decisions named as Access's dashboard names them. No JavaScript: the tests
post what the rendered form posts."""

import json
import re

import pytest
from django.urls import reverse

from policies.builder import row_from_rule, rule_from_row
from policies.models import Application
from policies.rules import SELECTORS, RuleError, compile_rule
from policies.snapshot import invalidate_snapshot
from tests.factories import AccessGroupFactory, ApplicationFactory, PolicyFactory
from tests.policies.test_admin import application_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    invalidate_snapshot()
    yield
    invalidate_snapshot()


def rows(prefix, *pairs):
    data = {f"{prefix}-TOTAL_ROWS": str(len(pairs))}
    for index, (selector, value) in enumerate(pairs):
        data[f"{prefix}-{index}-selector"] = selector
        data[f"{prefix}-{index}-value"] = value
    return data


def form(include=(("email_domain", "example.com"),), require=(), exclude=(), **fields):
    """The application form with one policy whose rules are rows, as the page posts it."""
    data = application_data(
        policies=[{"name": "Staff", "decision": "allow", "precedence": "1"}],
        destinations="",
        **{"policies-0-session_duration": ""},
    )
    data.update(rows("policies-0-include", *include))
    data.update(rows("policies-0-require", *require))
    data.update(rows("policies-0-exclude", *exclude))
    data.update(fields)
    return data


def add(admin_client, data):
    return admin_client.post(reverse("admin:policies_application_add"), data)


@pytest.mark.parametrize(
    ("rule", "row"),
    [
        ({"everyone": {}}, ("everyone", "")),
        ({"email": {"email": "ann@example.com"}}, ("email", "ann@example.com")),
        ({"ip": {"ip": "192.0.2.0/24"}}, ("ip", "192.0.2.0/24")),
        ({"login_method": {"id": 3}}, ("login_method", "3")),
        ({"login_method": {"name": "One-time PIN"}}, ("login_method", "name=One-time PIN")),
        (
            {"oidc": {"claim_name": "groups", "claim_value": "admins", "identity_provider_id": 3}},
            ("oidc", "claim_name=groups; claim_value=admins; identity_provider_id=3"),
        ),
    ],
)
def test_a_rule_and_its_row_say_the_same(rule, row):
    assert row_from_rule(rule) == row
    assert rule_from_row(*row) == rule


def test_a_provider_named_in_a_plain_value_is_taken_by_name():
    assert rule_from_row("login_method", "One-time PIN") == {
        "login_method": {"name": "One-time PIN"}
    }


def test_rows_save_as_the_rules_the_api_takes(admin_client):
    AccessGroupFactory(name="Ops", include=[{"everyone": {}}])
    response = add(
        admin_client,
        form(
            include=[("email", "ann@example.com"), ("", "ignored"), ("group", "Ops")],
            require=[("ip", "10.0.0.0/8")],
            exclude=[("geo", "KP")],
        ),
    )
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    policy = Application.objects.get(name="Dashboard").policies.get()
    assert policy.include == [{"email": {"email": "ann@example.com"}}, {"group": {"name": "Ops"}}]
    assert policy.require == [{"ip": {"ip": "10.0.0.0/8"}}]
    assert policy.exclude == [{"geo": {"country_code": "KP"}}]


def test_a_bad_value_gets_the_validation_message_on_its_row(admin_client):
    response = add(admin_client, form(include=[("everyone", ""), ("ip", "not-a-network")]))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert list(errors) == ["include"]
    (message,) = errors["include"]
    assert message.startswith("include[1]")
    assert "not-a-network" in message
    assert not Application.objects.exists()


def test_an_empty_include_gets_the_same_message_as_the_api(admin_client):
    response = add(admin_client, form(include=[("", "")]))
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert errors["include"] == ['needs at least one rule, e.g. {"everyone": {}}']


def test_an_unknown_selector_posted_by_hand_is_refused(admin_client):
    response = add(admin_client, form(include=[("telepathy", "yes")]))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "unknown selector 'telepathy'" in errors["include"][0]


def _offered_selectors(admin_client):
    application = ApplicationFactory(name="Wiki")
    PolicyFactory(application=application, include=[{"everyone": {}}])
    page = admin_client.get(reverse("admin:policies_application_change", args=[application.pk]))
    select = re.search(
        r'<select name="policies-0-include-0-selector"[^>]*>(.*?)</select>',
        page.content.decode(),
        re.DOTALL,
    )
    assert select is not None
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def _example(kind):
    # A refused selector's example elides its values (`...`): fill them in to ask validation.
    return json.loads(SELECTORS[kind].example.replace("...", '"x"'))


def test_the_builder_offers_only_selectors_validation_accepts(admin_client):
    offered = _offered_selectors(admin_client)

    assert offered[0] == ""  # the blank choice: a row left empty is dropped
    refused = []
    for kind in offered[1:]:
        try:
            compile_rule(_example(kind))
        except RuleError as error:
            refused.append((kind, str(error)))
    assert refused == []
    assert [kind for kind in SELECTORS if kind not in offered] == ["saml"]
    with pytest.raises(RuleError, match="^saml rules are not supported yet: "):
        compile_rule(_example("saml"))


def test_a_refused_selector_posted_by_hand_gets_the_validation_message(admin_client):
    response = add(admin_client, form(include=[("saml", "attribute_name=department")]))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert errors["include"] == [
        "include[0].saml.attribute_name: saml rules are not supported yet: accessproject has no "
        "SAML identity "
        'providers; use an OpenID Connect provider and {"oidc": {"claim_name": ..., '
        '"claim_value": ...}}'
    ]
    assert not Application.objects.exists()


def test_the_change_page_shows_each_rule_as_a_row_plus_blank_rows(admin_client):
    application = ApplicationFactory(name="Wiki")
    PolicyFactory(
        application=application,
        include=[{"email": {"email": "ann@example.com"}}, {"everyone": {}}],
        decision="deny",
    )
    page = admin_client.get(reverse("admin:policies_application_change", args=[application.pk]))
    body = page.content.decode()
    assert 'name="policies-0-include-TOTAL_ROWS" value="4"' in body
    assert 'name="policies-0-include-0-value" value="ann@example.com"' in body
    assert '<option value="everyone" selected>everyone</option>' in body
    assert 'name="policies-0-include-3-selector"' in body
    assert '<option value="deny" selected>Block (deny)</option>' in body
    assert '<option value="non_identity">Service Auth (non_identity)</option>' in body


def test_removing_a_row_removes_the_rule(admin_client):
    application = ApplicationFactory(name="Wiki", domain="wiki.example.com")
    policy = PolicyFactory(
        application=application,
        name="Staff",
        precedence=1,
        include=[{"email": {"email": "ann@example.com"}}, {"email": {"email": "bob@example.com"}}],
    )
    data = form(
        include=[("email", "ann@example.com"), ("", "bob@example.com")],
        name="Wiki",
        domain="wiki.example.com",
    )
    data.update({"policies-INITIAL_FORMS": "1", "policies-0-id": str(policy.pk)})
    response = admin_client.post(
        reverse("admin:policies_application_change", args=[application.pk]), data
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.include == [{"email": {"email": "ann@example.com"}}]


def test_cors_fields_and_destination_lines_save_as_the_config(admin_client):
    response = add(
        admin_client,
        form(
            destinations="dash.example.com/api\n\n  dash2.example.com  \n",
            same_site_cookie_attribute="none",
            cors_allowed_origins="https://web.example.com\nhttps://app.example.com",
            cors_allowed_methods=["GET", "POST"],
            cors_allowed_headers="content-type",
            cors_allow_credentials="on",
            cors_max_age="600",
            cors_on_responses="on",
        ),
    )
    assert response.status_code == 302
    application = Application.objects.get(name="Dashboard")
    assert application.destinations == ["dash.example.com/api", "dash2.example.com"]
    assert application.cors_headers == {
        "allowed_origins": ["https://web.example.com", "https://app.example.com"],
        "allowed_methods": ["GET", "POST"],
        "allowed_headers": ["content-type"],
        "allow_credentials": True,
        "max_age": 600,
    }
    page = admin_client.get(reverse("admin:policies_application_change", args=[application.pk]))
    body = page.content.decode()
    assert "https://web.example.com\nhttps://app.example.com</textarea>" in body
    assert 'name="cors_max_age" value="600"' in body
    assert 'value="POST" id="id_cors_allowed_methods_1" checked>' in body
    assert 'value="PUT" id="id_cors_allowed_methods_3">' in body


def test_the_admin_offers_every_method_validation_accepts(admin_client):
    """Each method the API may store has its box, so saving in the admin keeps it."""
    methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
    response = add(
        admin_client,
        form(cors_allowed_origins="https://web.example.com", cors_allowed_methods=methods),
    )
    assert response.status_code == 302
    application = Application.objects.get(name="Dashboard")
    assert application.cors_headers["allowed_methods"] == methods
    page = admin_client.get(reverse("admin:policies_application_change", args=[application.pk]))
    body = page.content.decode()
    for index, method in enumerate(methods):
        assert f'value="{method}" id="id_cors_allowed_methods_{index}" checked>' in body


def test_no_cors_field_set_means_no_cors_headers(admin_client):
    assert add(admin_client, form()).status_code == 302
    assert Application.objects.get(name="Dashboard").cors_headers is None


def test_a_cors_error_lands_on_its_field(admin_client):
    response = add(
        admin_client,
        form(
            cors_allow_all_origins="on", cors_allowed_methods=["GET"], cors_allow_credentials="on"
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["cors_allow_credentials"]
    assert errors["cors_allow_credentials"][0].startswith("cors_headers.allow_credentials: ")
