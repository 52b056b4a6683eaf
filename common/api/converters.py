"""Object ids in `/api/access/` URLs, query parameters and bodies.

Django's `int` converter and DRF's `IntegerField` take any number of digits, and a database
refuses integers past 64 bits with an error, not an empty result. Ids are at most 18 digits here
(below 2**63): a longer one in a path matches no route (404), and in a parameter or body it is a
validation error, like any other id that names nothing.
"""

from __future__ import annotations

from typing import Any

from django.urls import register_converter
from rest_framework import serializers

MAX_OBJECT_ID = 10**18 - 1


def object_id_field(**kwargs: Any) -> serializers.IntegerField:
    """An `IntegerField` for an object id: 1 to `MAX_OBJECT_ID`."""
    return serializers.IntegerField(min_value=1, max_value=MAX_OBJECT_ID, **kwargs)


class ObjectIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ObjectIdConverter, "object_id")
