"""Malformed input to the validation layer, the services, config files and the admin.

Whatever an administrator types or a file holds, the answer is a validation error naming the
place, never an exception (a 500 in the admin, a traceback from `access_apply`) and never a row
that one database stores and another refuses.
"""

import json
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.db.models import QuerySet
from django.test import Client

from policies import services, validation
from policies.catalog import Catalog
from policies.configfile import ConfigFileError, parse_text, plan_config
from policies.models import AccessGroup, Application, Policy, ServiceToken
from policies.validation import MAX_PRECEDENCE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

EVERYONE: list[object] = [{"everyone": {}}]
TESTER = "/admin/policies/application/tester/"


def _application() -> Application:
    return services.application_create(name="a", domain="a.example.com")


def _policy(**fields: object) -> dict[str, object]:
    return {"name": "p", "decision": "allow", "precedence": 1, "include": EVERYONE, **fields}


# The validation layer


def test_precedence_above_the_largest_stored_integer_is_refused() -> None:
    errors = validation.policy_errors(_policy(precedence=MAX_PRECEDENCE + 1), catalog=Catalog())

    assert errors == {"precedence": [f"must be a whole number from 1 to {MAX_PRECEDENCE}"]}


def test_the_largest_precedence_is_accepted() -> None:
    assert validation.policy_errors(_policy(precedence=MAX_PRECEDENCE), catalog=Catalog()) == {}


def test_a_policy_set_with_a_name_that_is_not_text_is_an_error() -> None:
    errors = validation.policy_set_errors([_policy(name=["p"])], catalog=Catalog())

    assert errors == {"[0].name": ["is required"]}


def test_a_nul_character_in_a_name_is_refused() -> None:
    errors = validation.group_errors({"name": "sta\x00ff", "include": EVERYONE}, catalog=Catalog())

    assert errors == {"name": ["must not contain NUL characters or unpaired surrogates"]}


def test_a_nul_character_inside_a_rule_is_refused_at_its_path() -> None:
    rule = {"email": {"email": "ann\x00@example.com"}}
    errors = validation.policy_errors(_policy(include=[rule]), catalog=Catalog())

    assert errors["include[0].email.email"][0] == (
        "must not contain NUL characters or unpaired surrogates"
    )


def test_an_unpaired_surrogate_in_cors_headers_is_refused() -> None:
    fields = {
        "name": "a",
        "domain": "a.example.com",
        "cors_headers": {"allowed_origins": ["https://\ud800.example"], "allowed_methods": ["GET"]},
    }
    errors = validation.application_errors(fields, catalog=Catalog())

    assert errors["cors_headers.allowed_origins[0]"][0] == (
        "must not contain NUL characters or unpaired surrogates"
    )


def test_a_duration_longer_than_its_column_is_refused() -> None:
    text = "0" * 40 + "1h"
    errors = validation.policy_errors(_policy(session_duration=text), catalog=Catalog())

    assert errors == {"session_duration": ["must be at most 32 characters"]}


# Services


def test_setting_policies_with_a_huge_precedence_is_a_validation_error() -> None:
    application = _application()

    with pytest.raises(ValidationError) as caught:
        services.application_set_policies(
            application=application, policies=[_policy(precedence=10**30)]
        )

    assert caught.value.message_dict == {
        "[0].precedence": [f"must be a whole number from 1 to {MAX_PRECEDENCE}"]
    }
    assert not Policy.objects.exists()


def test_a_unique_constraint_hit_by_a_concurrent_write_is_a_validation_error() -> None:
    # Another process saved the same name between validation and save.
    with (
        mock.patch.object(AccessGroup, "save", side_effect=IntegrityError("UNIQUE constraint")),
        pytest.raises(ValidationError) as caught,
    ):
        services.group_create(name="staff", include=EVERYONE)

    assert caught.value.message_dict == {
        "__all__": ["another change was saved at the same time and conflicts; try again"]
    }


def test_a_concurrent_duplicate_policy_is_a_validation_error() -> None:
    application = _application()

    with (
        mock.patch.object(Policy, "save", side_effect=IntegrityError("UNIQUE constraint")),
        pytest.raises(ValidationError),
    ):
        services.policy_create(application=application, **_policy())  # type: ignore[arg-type]


# Config files


@pytest.mark.parametrize(
    ("text", "json_syntax"),
    [
        ("[" * 100_000, True),
        ("[" * 100_000, False),
        ("a: [" * 10_000, False),
        ("9" * 5000, True),
        ("a: " + "9" * 5000, False),
        ('["\\ud800"]', True),
        ('a: "\\ud800"', False),
    ],
    ids=[
        "deep-json",
        "deep-yaml",
        "deep-yaml-mapping",
        "huge-json-int",
        "huge-yaml-int",
        "json-surrogate",
        "yaml-surrogate",
    ],
)
def test_an_unreadable_file_is_one_clear_error(text: str, json_syntax: bool) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_text(text, json_syntax=json_syntax, source="c")

    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].startswith("c: not valid ")


@pytest.mark.parametrize("destinations", [True, 1, 1.5])
def test_destinations_that_are_not_a_list_are_an_error_in_a_file(
    tmp_path: Path, destinations: object
) -> None:
    config = {
        "applications": [{"name": "a", "domain": "a.example.com", "destinations": destinations}]
    }
    path = tmp_path / "access.json"
    path.write_text(json.dumps(config))

    stderr = StringIO()

    with pytest.raises(CommandError):
        call_command("access_apply", str(path), stdout=StringIO(), stderr=stderr)

    assert stderr.getvalue().splitlines() == [
        "applications[0].destinations: must be a list of host/path patterns"
    ]
    assert not Application.objects.exists()


# Admin


def _application_form(**fields: str) -> dict[str, str]:
    data = {
        "name": "a",
        "domain": "a.example.com",
        "destinations": "[]",
        "session_duration": "24h",
        "same_site_cookie_attribute": "lax",
        "custom_deny_message": "",
        "custom_deny_url": "",
        "custom_non_identity_deny_url": "",
        "policies-TOTAL_FORMS": "1",
        "policies-INITIAL_FORMS": "0",
        "policies-MIN_NUM_FORMS": "0",
        "policies-MAX_NUM_FORMS": "1000",
        "policies-0-name": "p",
        "policies-0-decision": "allow",
        "policies-0-precedence": "1",
        "policies-0-include": '[{"everyone": {}}]',
        "policies-0-require": "[]",
        "policies-0-exclude": "[]",
        "policies-0-session_duration": "",
    }
    data.update(fields)
    return data


UNREADABLE = {"deep": "[" * 50_000, "huge-int": "9" * 5000, "surrogate": '["\\ud800"]'}


# The list fields (destinations, CORS origins) read JSON only when it starts with "[": a line of
# digits is a host name or an origin, for validation to judge.
@pytest.mark.parametrize(
    ("field", "text"),
    [
        pytest.param(field, text, id=f"{name}-{field}")
        for field in ("destinations", "cors_allowed_origins", "policies-0-include")
        for name, text in UNREADABLE.items()
        if field == "policies-0-include" or text.startswith("[")
    ],
)
def test_admin_json_fields_refuse_unreadable_json(
    admin_client: Client, field: str, text: str
) -> None:
    response = admin_client.post(
        "/admin/policies/application/add/", _application_form(**{field: text})
    )

    assert response.status_code == 200
    assert "Enter a valid JSON." in response.content.decode()
    assert not Application.objects.exists()


def test_admin_group_rules_refuse_deeply_nested_json(admin_client: Client) -> None:
    data = {"name": "g", "include": "[" * 50_000, "require": "[]", "exclude": "[]"}

    response = admin_client.post("/admin/policies/accessgroup/add/", data)

    assert response.status_code == 200
    assert not AccessGroup.objects.exists()


def test_admin_renaming_a_service_token_in_use_is_a_form_error(admin_client: Client) -> None:
    token, _ = services.service_token_create(name="ci")
    application = _application()
    services.policy_create(
        application=application,
        name="robots",
        decision="non_identity",
        precedence=1,
        include=[{"service_token": {"name": "ci"}}],
    )

    response = admin_client.post(
        f"/admin/policies/servicetoken/{token.pk}/change/", {"name": "ci2", "duration": "8760h"}
    )

    assert response.status_code == 200
    assert "remove those rules first" in response.content.decode()
    assert ServiceToken.objects.get().name == "ci"


@pytest.mark.parametrize("url", ["http://[::1", "https://[zz]/", "https://a.example.com:99999/"])
def test_the_policy_tester_refuses_a_malformed_url(admin_client: Client, url: str) -> None:
    _application()

    response = admin_client.get(TESTER, {"url": url, "method": "GET"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "url": ["Enter a URL like https://app.example.com/path."]
    }


def test_a_name_taken_by_a_concurrent_write_gets_the_duplicate_name_error() -> None:
    # The uniqueness check ran before the other write committed, so it passed; the database
    # constraint then refuses the row.
    AccessGroup.objects.create(name="staff", include=EVERYONE)
    real_check = AccessGroup.validate_unique
    calls: list[None] = []

    def stale_then_real(self: AccessGroup, exclude: object = None) -> None:
        calls.append(None)
        if len(calls) > 1:
            real_check(self, exclude=exclude)  # type: ignore[arg-type]

    with (
        mock.patch.object(AccessGroup, "validate_unique", stale_then_real),
        pytest.raises(ValidationError) as caught,
    ):
        services.group_create(name="staff", include=EVERYONE)

    assert caught.value.message_dict == {"name": ["Access group with this Name already exists."]}
    assert AccessGroup.objects.count() == 1


def test_setting_policies_next_to_the_largest_precedence_stays_in_range() -> None:
    application = _application()
    services.policy_create(
        application=application,
        name="last",
        decision="allow",
        precedence=MAX_PRECEDENCE,
        include=EVERYONE,
    )

    services.application_set_policies(
        application=application,
        policies=[_policy(name="last", precedence=MAX_PRECEDENCE), _policy(name="first")],
    )

    assert list(Policy.objects.values_list("name", "precedence")) == [
        ("first", 1),
        ("last", MAX_PRECEDENCE),
    ]


def test_a_yaml_document_that_refers_to_itself_is_an_error_not_a_hang() -> None:
    with pytest.raises(ConfigFileError) as caught:
        plan_config(parse_text("applications: &a [*a]", json_syntax=False, source="c"))

    assert caught.value.errors == ["applications[0]: must be an object with a name"]


def test_a_concurrent_write_while_policies_are_reordered_is_a_validation_error() -> None:
    application = _application()
    services.policy_create(application=application, **_policy())  # type: ignore[arg-type]

    with (
        mock.patch.object(QuerySet, "update", side_effect=IntegrityError("UNIQUE constraint")),
        pytest.raises(ValidationError) as caught,
    ):
        services.application_set_policies(application=application, policies=[_policy()])

    assert caught.value.message_dict == {
        "__all__": ["another change was saved at the same time and conflicts; try again"]
    }


@pytest.mark.parametrize("value", [{}, "", False, 0])
def test_an_empty_value_of_the_wrong_type_for_a_section_is_an_error(value: object) -> None:
    with pytest.raises(ConfigFileError) as caught:
        plan_config({"applications": value}, prune=True)

    assert caught.value.errors == ["applications: must be a list of objects, each with a name"]


@pytest.mark.parametrize("value", [{}, "", False, 0])
def test_policies_of_the_wrong_type_are_an_error_not_no_policies(value: object) -> None:
    application = _application()
    services.policy_create(application=application, **_policy())  # type: ignore[arg-type]
    config = {"applications": [{"name": "a", "domain": "a.example.com", "policies": value}]}

    with pytest.raises(ConfigFileError) as caught:
        plan_config(config)

    assert caught.value.errors == ["applications[0].policies: must be a list of policies"]
    assert Policy.objects.count() == 1


def test_an_empty_section_is_no_objects() -> None:
    plan = plan_config(parse_text("applications:\ngroups:\n", json_syntax=False))

    assert plan.describe() == ["no changes"]
