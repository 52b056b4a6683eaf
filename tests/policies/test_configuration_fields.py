"""Application and policy fields, declared once in `policies.models`, and what reads them."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policies import validation
from policies.admin import PolicyInline
from policies.api.access_policies import PolicyInputSerializer, PolicyOutputSerializer
from policies.api.applications import ApplicationInputSerializer, ApplicationOutputSerializer
from policies.catalog import Catalog
from policies.forms import ApplicationForm, PolicyForm
from policies.models import (
    APPLICATION_BOOLEANS,
    APPLICATION_COLUMNS,
    APPLICATION_FIELDS,
    POLICY_FIELDS,
    POLICY_LISTS,
    Application,
    Policy,
)
from policies.selectors import application_fields, policy_fields
from policies.services import ApplicationFields, PolicyFields
from policies.snapshot import CompiledApplication, build_snapshot
from tests.factories import ApplicationFactory, PolicyFactory

# The columns nobody sets: the key, the AUD tag (made at creation) and the timestamps.
OWN_COLUMNS = {"id", "aud", "created_at", "updated_at"}
# Compiled under another name: `cors_headers` becomes the `CorsPolicy` in `cors`; `type` decides
# where the application goes (the App Launcher is kept apart from the patterns).
COMPILED_AS = {"cors_headers": "cors", "type": None}


def test_the_declaration_is_every_field_a_person_sets_on_the_model():
    columns = {field.name for field in Application._meta.concrete_fields} - OWN_COLUMNS
    relations = {field.name for field in Application._meta.many_to_many}

    assert set(APPLICATION_COLUMNS) == columns
    assert len(APPLICATION_COLUMNS) == len(columns)
    assert set(APPLICATION_FIELDS) == columns | relations
    assert len(APPLICATION_FIELDS) == len(columns | relations)


def test_the_booleans_are_the_declared_boolean_columns():
    assert set(APPLICATION_BOOLEANS) == {
        name
        for name in APPLICATION_COLUMNS
        if Application._meta.get_field(name).get_internal_type() == "BooleanField"
    }
    assert "enable_binding_cookie" in APPLICATION_BOOLEANS


@pytest.mark.parametrize("name", sorted(APPLICATION_FIELDS))
def test_validation_knows_every_declared_field(name):
    errors = validation.application_errors(
        {"name": "App", "domain": "app.example.com", name: None}, catalog=Catalog()
    )
    assert all(not message.startswith("unknown field") for message in errors.get(name, []))


def test_validation_refuses_a_field_not_declared():
    errors = validation.application_errors(
        {"name": "App", "domain": "app.example.com", "colour": "red"}, catalog=Catalog()
    )
    assert errors["colour"][0].startswith("unknown field")


def test_the_admin_form_edits_every_declared_field():
    # `cors_headers` is entered as the CORS builder's fields, not as JSON.
    assert set(ApplicationForm._meta.fields) == set(APPLICATION_FIELDS) - {"cors_headers"}


def test_every_declared_column_is_compiled_into_the_snapshot():
    compiled = {field.name for field in dataclasses.fields(CompiledApplication)}
    for name in APPLICATION_COLUMNS:
        compiled_as = COMPILED_AS.get(name, name)
        assert compiled_as is None or compiled_as in compiled, name
    assert "allowed_idps" in compiled


# --- policies ------------------------------------------------------------------------------------

# The policy's own key and its application, which the snapshot reads and nobody sets here.
POLICY_OWN_COLUMNS = {"id", "application", "created_at", "updated_at"}


def test_the_policy_declaration_is_every_field_a_person_sets_on_the_model():
    columns = {field.name for field in Policy._meta.concrete_fields} - POLICY_OWN_COLUMNS

    assert set(POLICY_FIELDS) == columns
    assert len(POLICY_FIELDS) == len(columns)


@pytest.mark.parametrize("name", POLICY_FIELDS)
def test_validation_knows_every_declared_policy_field(name):
    errors = validation.policy_errors({"name": "p", name: None}, catalog=Catalog())
    assert all(not message.startswith("unknown field") for message in errors.get(name, []))


def test_validation_refuses_a_policy_field_not_declared():
    errors = validation.policy_errors({"name": "p", "colour": "red"}, catalog=Catalog())
    assert errors["colour"][0].startswith("unknown field")


def test_the_admin_edits_every_declared_policy_field_in_order():
    assert tuple(PolicyForm._meta.fields) == POLICY_FIELDS
    assert tuple(PolicyInline.fields) == POLICY_FIELDS


# --- the snapshot's queries ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("factory", "table", "columns"),
    [
        (ApplicationFactory, "policies_application", ("id", "aud", *APPLICATION_COLUMNS)),
        (PolicyFactory, "policies_policy", ("id", "application_id", *POLICY_FIELDS)),
    ],
)
def test_the_snapshot_reads_every_declared_column_in_one_query(factory, table, columns):
    factory()

    with CaptureQueriesContext(connection) as queries:
        build_snapshot(version=1)

    (select,) = [query["sql"] for query in queries if f'FROM "{table}"' in query["sql"]]
    for name in columns:
        assert f'"{table}"."{name}"' in select, name


# --- the shapes that cannot be derived: typed dicts and the API's serializers --------------------


@pytest.mark.parametrize(
    ("shape", "declared"),
    [
        (ApplicationFields, APPLICATION_FIELDS),
        (PolicyFields, POLICY_FIELDS),
        (ApplicationInputSerializer, APPLICATION_FIELDS),
        (
            ApplicationOutputSerializer,
            ("id", "aud", *APPLICATION_FIELDS, "created_at", "updated_at"),
        ),
        (PolicyInputSerializer, POLICY_FIELDS),
        (
            PolicyOutputSerializer,
            ("id", "application_id", *POLICY_FIELDS, "created_at", "updated_at"),
        ),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_every_shape_names_the_declared_fields(shape, declared):
    names = (
        shape.__annotations__
        if isinstance(shape, type) and issubclass(shape, dict)
        else shape().fields
    )
    assert set(names) == set(declared)


@pytest.mark.django_db
def test_the_selectors_read_every_declared_field_in_order():
    policy = PolicyFactory(include=[{"everyone": {}}])

    assert tuple(application_fields(policy.application)) == APPLICATION_FIELDS
    assert tuple(policy_fields(policy)) == POLICY_FIELDS
    # Lists are handed out as copies: a caller's change never reaches the instance.
    policy_fields(policy)["include"].append({"email": {"email": "x@example.com"}})
    assert policy.include == [{"everyone": {}}]
    assert POLICY_LISTS == ("include", "require", "exclude", "approval_groups")
