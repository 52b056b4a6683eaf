"""Input serializers whose values go to the services untouched, and output serializers whose
values come from the selectors.

The services (through `policies.validation`) own every rule about a value, its type included, and
word their messages for the admin, the API and config files alike. So the API's input serializers
only declare which fields exist (for the schema, and to refuse unknown ones) and hand each value
over as the client sent it: no coercion ("true" stays a string, and is refused as one), no second
set of messages. On the way out, an object's fields are what its selector says
(`policies.selectors`), as the admin and exports show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from policies.api.schemas import JsonSchema

REQUIRED_MESSAGE = "is required"


class ServiceValue(serializers.Field[Any, Any, Any, Any]):
    """A field passed through as sent, documented by `schema` (a JSON Schema dict).

    `component` names the schema in the document's components, for shapes used in many places.
    """

    def __init__(self, schema: JsonSchema, *, component: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"required": REQUIRED_MESSAGE})
        super().__init__(**kwargs)
        # drf-spectacular reads this attribute, as `extend_schema_field` would set it.
        self._spectacular_annotation: dict[str, Any] = {"field": schema}
        if component:
            self._spectacular_annotation["field_component_name"] = component

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return False, None  # the service says whether null is acceptable here
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ServiceInputSerializer(serializers.Serializer[Any]):
    """An input serializer of `ServiceValue`s that refuses fields it does not declare."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values: dict[str, Any] = super().to_internal_value(data)
        if isinstance(data, Mapping):
            known = sorted(self.fields)
            unknown = {
                str(key): [f"unknown field; expected one of {', '.join(known)}"]
                for key in data
                if key not in self.fields
            }
            if unknown:
                raise serializers.ValidationError(unknown)
        return values

    def run_validation(self, data: Any = empty) -> Any:
        if data is empty or data is None:
            data = {}  # an empty body is an empty object: the service names what is missing
        return super().run_validation(data)


# An output serializer of a stored object: the fields its selector gives (`selected`), and the
# others (`id`, `created_at`, ...) as the object's attributes. (No docstring: the schema would
# show it as the description of every output that derives from it.)
class SelectedOutputSerializer(serializers.Serializer[Any]):
    def selected(self, instance: Any) -> Mapping[str, Any]:
        """The object's fields by their public names, from its selector."""
        raise NotImplementedError

    def to_representation(self, instance: Any) -> dict[str, Any]:
        values = self.selected(instance)
        names: list[str] = list(self.fields.keys())
        return super().to_representation(
            {name: values[name] if name in values else getattr(instance, name) for name in names}
        )
