"""Admin lists answer a query they cannot read with 400, never a 500.

Django's changelist turns most bad filters into its "?e=1" page, but two reach the database or
the calendar first: a NUL character in a filter's value (PostgreSQL refuses it in text) and a
date-hierarchy part too large for a date (`created_at__year=99999999999` overflows). Every list
of the project's admin refuses both before Django reads the query.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

DATE_PARTS = ("__year", "__month", "__day")
_DATE_PART = re.compile(r"[0-9]{1,4}")


def unreadable_query(query: QueryDict) -> str | None:
    """Why the admin cannot read this list query, or None."""
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return f"The query parameter {name!r} must not contain NUL characters."
        if name.endswith(DATE_PARTS) and not all(_DATE_PART.fullmatch(v) for v in values):
            return f"The query parameter {name!r} must be a number of at most 4 digits."
    return None


class ReadableQueryMixin:
    """For a `ModelAdmin`: its list refuses a query it cannot read (`unreadable_query`)."""

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problem = unreadable_query(request.GET)
        if problem is not None:
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return super().changelist_view(request, *args, **kwargs)  # type: ignore[misc]
