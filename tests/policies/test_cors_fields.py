"""The keys of `cors_headers` and the bounds of `max_age`, from `policies.cors`, in admin, API."""

from policies.api.schemas import CORS_HEADERS
from policies.builder import CORS_FIELDS, CorsFields
from policies.cors import CORS_FIELDS as CORS_KEYS
from policies.cors import MAX_AGE_RANGE

JSON_TYPES = {list: "array", bool: "boolean", int: "integer"}


def test_the_api_schema_has_each_key_with_its_type():
    properties = CORS_HEADERS["properties"]

    assert list(properties) == list(CORS_KEYS)
    assert {key: value["type"] for key, value in properties.items()} == {
        key: JSON_TYPES[kind] for key, kind in CORS_KEYS.items()
    }


def test_the_api_schema_bounds_max_age_as_validation_does():
    properties = CORS_HEADERS["properties"]
    assert (properties["max_age"]["minimum"], properties["max_age"]["maximum"]) == MAX_AGE_RANGE
    assert [key for key, value in properties.items() if "minimum" in value] == ["max_age"]


def test_the_admin_has_a_field_for_each_key():
    assert [key for _, key in CORS_FIELDS] == list(CORS_KEYS)
    assert {name for name, _ in CORS_FIELDS} == set(CorsFields.base_fields)


def test_the_admin_help_gives_the_max_age_bounds():
    low, high = MAX_AGE_RANGE
    assert f"({low} to {high})" in str(CorsFields.base_fields["cors_max_age"].help_text)
