"""The API's schema of a rule is made from `policies.rules.SELECTORS`, and agrees with it."""

import json

import jsonschema
import pytest

from policies.api.schemas import RULE
from policies.rules import SELECTORS, compile_rule

SUPPORTED = [kind for kind, selector in SELECTORS.items() if selector.supported]


def _entry(kind):
    (entry,) = [entry for entry in RULE["oneOf"] if entry["required"] == [kind]]
    return entry


def test_the_schema_has_one_entry_per_supported_selector():
    assert [entry["required"] for entry in RULE["oneOf"]] == [[kind] for kind in SUPPORTED]
    assert "saml" not in SUPPORTED


@pytest.mark.parametrize("kind", SUPPORTED)
def test_an_entry_names_the_selectors_fields_and_what_it_selects(kind):
    selector = SELECTORS[kind]
    inner = _entry(kind)["properties"][kind]

    assert list(inner["properties"]) == [*selector.required, *selector.optional]
    assert inner.get("required", []) == list(selector.required)
    assert _entry(kind)["description"] == selector.description


@pytest.mark.parametrize("kind", SUPPORTED)
def test_the_example_compiles_and_what_it_compiles_to_is_one_entry_of_the_schema(kind):
    example = json.loads(SELECTORS[kind].example)
    assert _entry(kind)["example"] == example

    data = compile_rule(example).to_data()

    jsonschema.validate(data, RULE)
    matching = [
        entry for entry in RULE["oneOf"] if jsonschema.Draft202012Validator(entry).is_valid(data)
    ]
    assert matching == [_entry(kind)]
