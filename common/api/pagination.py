"""`page` / `per_page` lists, as Access's API pages them, with `result_info` in the envelope,
and the filters a list reads from its query string."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.envelope import ResultInfo, ok

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 1000
# Keeps the row offset, (page - 1) * per_page, within what every database accepts.
MAX_PAGE = 10**9

M = TypeVar("M", bound=Model)


class PageSerializer(serializers.Serializer[Any]):
    """The page the client asked for; a page past the end is empty, not an error."""

    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    per_page = serializers.IntegerField(
        min_value=1, max_value=MAX_PER_PAGE, default=DEFAULT_PER_PAGE
    )


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description=f"Page number, 1 to {MAX_PAGE}.", default=1),
    OpenApiParameter(
        "per_page",
        int,
        description=f"Items per page, 1 to {MAX_PER_PAGE}.",
        default=DEFAULT_PER_PAGE,
    ),
]


def paginated(
    request: Request,
    items: QuerySet[M] | Sequence[Any],
    *,
    represent: Callable[[Any], object],
) -> Response:
    """One page of `items`, each represented by `represent`, with its `result_info`."""
    page_serializer = PageSerializer(
        data={
            key: request.query_params[key]
            for key in ("page", "per_page")
            if key in request.query_params
        }
    )
    page_serializer.is_valid(raise_exception=True)
    page: int = page_serializer.validated_data["page"]
    per_page: int = page_serializer.validated_data["per_page"]
    total_count = items.count() if isinstance(items, QuerySet) else len(items)
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    info = ResultInfo(page=page, per_page=per_page, count=len(chunk), total_count=total_count)
    return ok([represent(item) for item in chunk], result_info=info)


def list_filters(
    request: Request, serializer_class: type[serializers.Serializer[Any]]
) -> dict[str, Any]:
    """The list's filters from the query string, as `serializer_class` reads them (400 if not)."""
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


def query_parameters(
    serializer_class: type[serializers.Serializer[Any]],
) -> list[OpenApiParameter]:
    """The schema's query parameters for the filters `serializer_class` reads: each field's
    name, its type (and choices), and its `help_text` as the description."""
    return [_parameter(name, field) for name, field in serializer_class().fields.items()]


def _parameter(name: str, field: serializers.Field[Any, Any, Any, Any]) -> OpenApiParameter:
    if isinstance(field, serializers.ChoiceField):
        return OpenApiParameter(
            name, str, enum=list(field.choices), description=field.help_text or ""
        )
    kind = (
        bool
        if isinstance(field, serializers.BooleanField)
        else int
        if isinstance(field, serializers.IntegerField)
        else str
    )
    return OpenApiParameter(name, kind, description=field.help_text or "")


def filtered(
    items: QuerySet[M], filters: Mapping[str, Any], lookups: Mapping[str, str]
) -> QuerySet[M]:
    """`items` narrowed by each filter given; `lookups` maps a filter's name to its field lookup."""
    for name, lookup in lookups.items():
        if name in filters:
            items = items.filter(**{lookup: filters[name]})
    return items
