"""Generic `/api/access/` endpoints: a list of objects, one object, an action, a computed answer.

An endpoint's module declares only what is particular to it: its objects (`queryset`), how one
is shown (`output`, `represent`), its input serializers, the service each write calls, and each
operation's summary and description (`docs`). These bases do the rest the same way for every
endpoint: find the object the path names (404), validate the input (400), call the service,
answer in the envelope, and document each operation with its request, its enveloped result,
every error status, and its id: the route's words and the operation's action, as drf-spectacular
names operations (`groups_list`, `apps_policies_partial_update`; an action's route already names
it: `service_tokens_rotate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import (
    PAGE_PARAMETERS,
    filtered,
    list_filters,
    paginated,
    query_parameters,
)
from common.api.permissions import ActionPermissions, WritesAllowed
from common.api.responses import DeletedOutputSerializer, error_responses

SerializerClass = type[serializers.Serializer[Any]]


@dataclass(frozen=True)
class Doc:
    """What the schema says of one operation in words: a summary, and a description of its own."""

    summary: str
    description: str


@dataclass(frozen=True)
class Writes:
    """The services that write one kind of object: `create(**values)`, and `update(**values)` and
    `delete()`, which take the object under the keyword `name` (`group=`, `token=`)."""

    name: str
    create: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None

    def service(self, action: str) -> Callable[..., Any]:
        found: Callable[..., Any] | None = getattr(self, action)
        if found is None:
            raise NotImplementedError(f"no {action} service for {self.name}")
        return found


def validated(serializer_class: SerializerClass, data: Any, *, many: bool = False) -> Any:
    """`data` as `serializer_class` reads it; a 400 with one error per problem if it cannot."""
    serializer = serializer_class(data=data, many=many)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def responses(
    status_code: int, result: SerializerClass, *, many: bool = False, paged: bool | None = None
) -> dict[int, Any]:
    """An operation's documented answers: `result` in the envelope, and every failure."""
    return {status_code: enveloped(result, many=many, paged=paged), **error_responses()}


class ResourceApi(AdminApiView):
    """What the generic endpoints share: the object a path names, how it is shown and documented.

    `docs` describes each method's operation in words; `operation` says the rest, from the view's
    serializers: its action, which ends its id (`operation_id`), and its request, parameters and
    responses.
    """

    queryset: ClassVar[QuerySet[Any]]
    output: ClassVar[SerializerClass]
    many: ClassVar[bool] = False  # whether one answer is a list of `output` (whole, not a page)
    docs: ClassVar[Mapping[str, Doc]] = {}
    # What a GET reads from the query string; the schema documents each field as a parameter.
    filters: ClassVar[SerializerClass | None] = None
    # The services the generic writes call (`create`, `update`, `remove`).
    writes: ClassVar[Writes]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "docs" in vars(cls):
            extend_schema_view(**{method: cls._schema(method) for method in cls.docs})(cls)

    @classmethod
    def _schema(cls, method: str) -> Any:
        action, schema = cls.operation(method)
        doc = cls.docs[method]
        return extend_schema(
            operation_id=cls.operation_id(action),
            summary=doc.summary,
            description=doc.description,
            **schema,
        )

    @classmethod
    def operation_id(cls, action: str) -> str:
        """The route's words without its ids, then `action` (if any): `apps_policies_list`."""
        words = [word for word in cls.route.split("/") if not word.startswith("<")]
        return "_".join([*words, action] if action else words)

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        """The action of `method`'s operation, and its request, parameters and responses."""
        raise NotImplementedError(f"{cls.__name__} documents no {method}")

    def get_object(self, **path: Any) -> Any:
        """The object whose id the path holds, from `queryset` (404 when there is none)."""
        (object_id,) = path.values()
        return get_object_or_404(self.queryset.all(), pk=object_id)

    def query(self, request: Request) -> dict[str, Any]:
        """The query string's filters, as `filters` reads them (400 when it cannot)."""
        return list_filters(request, self.filters) if self.filters else {}

    def represent(self, obj: Any) -> Any:
        """`obj` as the API shows it."""
        return self.output(obj, many=self.many).data

    def warnings(self, obj: Any) -> list[dict[str, str]] | None:
        """What a write of `obj` made that defeats itself (`policies.warnings`); None: no list."""
        return None

    def written(self, obj: Any, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The answer to a write: `obj` as it is now, with the warnings about it."""
        return ok(self.represent(obj), status_code=status_code, warnings=self.warnings(obj))


class ReadApi(ResourceApi):
    """GET: one answer (a dashboard, a key set) made by `read` from the query string's filters."""

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        if method == "get":
            parameters = {"parameters": query_parameters(cls.filters)} if cls.filters else {}
            shown = responses(status.HTTP_200_OK, cls.output, many=cls.many, paged=False)
            return "list" if cls.many else "retrieve", {**parameters, "responses": shown}
        return super().operation(method)

    def get(self, request: Request, **path: Any) -> Response:
        return ok(self.represent(self.read(self.query(request))))

    def read(self, filters: dict[str, Any]) -> Any:
        """What to show, for the validated `filters`."""
        raise NotImplementedError


class ListApi(ResourceApi):
    """GET: the objects, a page at a time, narrowed by the query string's `filters`.

    Each filter given narrows `queryset` by its field lookup in `lookups`. A list that narrows
    otherwise, or lists what its path names, says so in `objects`.
    """

    lookups: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        if method == "get":
            filters = query_parameters(cls.filters) if cls.filters else []
            return "list", {
                "parameters": [*PAGE_PARAMETERS, *filters],
                "responses": responses(status.HTTP_200_OK, cls.output, many=True),
            }
        return super().operation(method)

    def get(self, request: Request, **path: Any) -> Response:
        return paginated(
            request, self.objects(self.query(request), **path), represent=self.represent
        )

    def objects(self, filters: Mapping[str, Any], **path: Any) -> QuerySet[Any] | Sequence[Any]:
        """The objects listed, in their order."""
        return filtered(self.queryset.all(), filters, self.lookups)


class ListCreateApi(ListApi):
    """A list (`ListApi`) to which POST adds an object, read by `create_input` (a 201)."""

    create_input: ClassVar[SerializerClass]
    # What the answer to a create shows, when it is more than `output` (a secret, once).
    created_output: ClassVar[SerializerClass | None] = None

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        if method == "post":
            created = cls.created_output or cls.output
            return "create", {
                "request": cls.create_input,
                "responses": responses(status.HTTP_201_CREATED, created),
            }
        return super().operation(method)

    def post(self, request: Request, **path: Any) -> Response:
        scope = self.scope(**path)
        obj = self.create(validated(self.create_input, request.data), **scope)
        return self.written(obj, status_code=status.HTTP_201_CREATED)

    def scope(self, **path: Any) -> dict[str, Any]:
        """What the path's ids name, as `create`'s keyword arguments (404 when one is missing)."""
        return path

    def create(self, values: dict[str, Any], **scope: Any) -> Any:
        """Make the object from the validated `values` (in the path's `scope`), through its
        service."""
        return self.writes.service("create")(**scope, **values)


class DetailApi(ResourceApi):
    """GET, PATCH (with `change_input`) and DELETE of the object the path names.

    A view that also replaces its object defines `put`, documented with `replace_input`.
    """

    change_input: ClassVar[SerializerClass]
    replace_input: ClassVar[SerializerClass | None] = None

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        shown = responses(status.HTTP_200_OK, cls.output)
        deleted = responses(status.HTTP_200_OK, DeletedOutputSerializer)
        operations: dict[str, tuple[str, dict[str, Any]]] = {
            "get": ("retrieve", {"responses": shown}),
            "put": ("update", {"request": cls.replace_input, "responses": shown}),
            "patch": ("partial_update", {"request": cls.change_input, "responses": shown}),
            "delete": ("destroy", {"responses": deleted}),
        }
        return operations[method] if method in operations else super().operation(method)

    def get(self, request: Request, **path: Any) -> Response:
        return ok(self.represent(self.get_object(**path)))

    def patch(self, request: Request, **path: Any) -> Response:
        obj = self.get_object(**path)
        self.update(obj, validated(self.change_input, request.data))
        return self.written(obj)

    def delete(self, request: Request, **path: Any) -> Response:
        obj = self.get_object(**path)
        deleted_id = obj.pk
        self.remove(obj)
        return ok({"id": deleted_id}, warnings=self.warnings_after_delete(obj))

    def update(self, obj: Any, values: dict[str, Any]) -> None:
        """Change the fields of `values` (validated), through the object's service."""
        self.writes.service("update")(**{self.writes.name: obj}, **values)

    def remove(self, obj: Any) -> None:
        """Delete the object, through its service."""
        self.writes.service("delete")(**{self.writes.name: obj})

    def warnings_after_delete(self, obj: Any) -> list[dict[str, str]] | None:
        """What the delete of `obj` left defeating itself; None: no list."""
        return None


class ActionApi(ResourceApi):
    """POST: an action (rotate, refresh, revoke, reset), answered with what it made or changed.

    The action is on the object whose id the path holds, or, with no id in the path, on the
    objects `action_input` names. It changes what exists, so it needs the `change_*`
    permission (`ActionPermissions`) unless the view says otherwise.
    """

    permission_classes = [ActionPermissions, WritesAllowed]
    # Ends the operation's id after the route's words, which name the action already (`rotate`).
    operation_name: ClassVar[str] = ""
    action_input: ClassVar[SerializerClass | None] = None  # None: the request has no body
    status_code: ClassVar[int] = status.HTTP_200_OK

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        if method == "post":
            return cls.operation_name, {
                "request": cls.action_input,
                "responses": responses(cls.status_code, cls.output, many=cls.many, paged=False),
            }
        return super().operation(method)

    def post(self, request: Request, **path: Any) -> Response:
        target = self.get_object(**path) if path else None
        values = validated(self.action_input, request.data) if self.action_input else {}
        return self.written(self.act(target, values), status_code=self.status_code)

    def act(self, target: Any, values: dict[str, Any]) -> Any:
        """Do the action on `target` (None when the path names none); returns what to show."""
        raise NotImplementedError
