"""The path converter for object ids in `/api/access/` URLs.

Django's `int` converter takes any number of digits, and a database refuses integers past 64
bits with an error, not an empty result. Ids are at most 18 digits here (below 2**63), so a
longer one matches no route and answers 404 like any other unknown object.
"""

from __future__ import annotations

from django.urls import register_converter


class ObjectIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(ObjectIdConverter, "object_id")
