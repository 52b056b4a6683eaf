"""Access's response envelope: `{"success", "errors", "messages", "result"}` (+ `result_info`).

Every answer of the API, success or failure, has this shape, so a client checks `success` and
reads `errors[].message` without caring which endpoint it called. The serializers below exist for
the OpenAPI schema: they describe the envelope around each endpoint's own result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers, status
from rest_framework.response import Response


@dataclass(frozen=True)
class ApiError:
    """One entry of `errors`: a stable numeric code and a message a person can act on."""

    code: int
    message: str

    def to_data(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ResultInfo:
    """Where a page sits in a list: `count` items here out of `total_count`."""

    page: int
    per_page: int
    count: int
    total_count: int

    def to_data(self) -> dict[str, int]:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "count": self.count,
            "total_count": self.total_count,
        }


def envelope(
    result: object,
    *,
    errors: Sequence[ApiError] = (),
    result_info: ResultInfo | None = None,
) -> dict[str, Any]:
    """The envelope around `result`; `success` is true exactly when there is no error."""
    data: dict[str, Any] = {
        "success": not errors,
        "errors": [error.to_data() for error in errors],
        "messages": [],
        "result": result,
    }
    if result_info is not None:
        data["result_info"] = result_info.to_data()
    return data


def ok(
    result: object,
    *,
    status_code: int = status.HTTP_200_OK,
    result_info: ResultInfo | None = None,
    warnings: Sequence[Mapping[str, str]] | None = None,
) -> Response:
    """A successful answer; a write that was made but defeats itself says so in `warnings`
    (`policies.warnings`: each with its id, field path, message and hint)."""
    data = envelope(result, result_info=result_info)
    if warnings is not None:
        data["warnings"] = list(warnings)
    return Response(data, status=status_code)


def failure(
    errors: Sequence[ApiError],
    *,
    status_code: int,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A failed answer: `result` is null and `errors` says why."""
    return Response(envelope(None, errors=errors), status=status_code, headers=headers)


# Schema: the envelope as serializers, so that drf-spectacular documents it around each result.


class MessageSerializer(serializers.Serializer[Any]):
    code = serializers.IntegerField(
        help_text="Stable for its kind, as in Cloudflare's API: 1004 invalid input, 7003 not"
        " found, 10000 not authenticated, 10001 not allowed, 971 throttled (docs/api.md)."
    )
    message = serializers.CharField(help_text="What went wrong or happened, in a sentence.")


class WarningSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text='Stable, as `manage.py check` shows it: "policies.W007".')
    path = serializers.CharField(allow_blank=True, help_text="The field path it concerns.")
    message = serializers.CharField(help_text="What the configuration does against itself.")
    hint = serializers.CharField(allow_blank=True, help_text="How to fix it, when there is a way.")


class ResultInfoSerializer(serializers.Serializer[Any]):
    page = serializers.IntegerField(min_value=1, help_text="This page's number, from 1.")
    per_page = serializers.IntegerField(min_value=1, help_text="The most items a page holds.")
    count = serializers.IntegerField(min_value=0, help_text="The items on this page.")
    total_count = serializers.IntegerField(min_value=0, help_text="The items on every page.")


def _envelope_fields(result: serializers.Field[Any, Any, Any, Any]) -> dict[str, Any]:
    # Built as a dict: `errors` is also the name of a Serializer property, so the envelope
    # serializers cannot be written as class bodies.
    return {
        "success": serializers.BooleanField(
            help_text="Whether the request did what it asked; false with every error status."
        ),
        "errors": MessageSerializer(many=True, help_text="Why it failed; empty on success."),
        "messages": MessageSerializer(many=True, help_text="Notes on a success; usually empty."),
        "result": result,
        # Only on writes of applications and policies: valid, but defeating itself.
        "warnings": WarningSerializer(
            many=True,
            required=False,
            help_text="Written, but defeating itself (applications and policies only): the same"
            " warnings as `manage.py check`.",
        ),
    }


ErrorEnvelopeSerializer: type[serializers.Serializer[Any]] = type(
    "ErrorEnvelopeSerializer",
    (serializers.Serializer,),
    {
        **_envelope_fields(
            serializers.JSONField(allow_null=True, default=None, help_text="null on a failure.")
        ),
        "__doc__": "Every failed answer: 400, 401, 403, 404, 405, 406, 415, 429.",
    },
)


_envelopes: dict[tuple[str, bool, bool], type[serializers.Serializer[Any]]] = {}


def enveloped(
    result: type[serializers.Serializer[Any]], *, many: bool = False, paged: bool | None = None
) -> type[serializers.Serializer[Any]]:
    """A serializer class describing the envelope around `result` (a list of them when `many`).

    A paged list (`paged`, by default the same as `many`) has `result_info` too. Named after
    `result` (`ApplicationEnvelope`, `ApplicationPageEnvelope`, `SigningKeyListEnvelope`), and
    built once per name so that the schema has one component for each.
    """
    paged = many if paged is None else paged
    base = result.__name__.removesuffix("Serializer").removesuffix("Output")
    name = f"{base}{'Page' if paged else 'List' if many else ''}Envelope"
    key = (f"{result.__module__}.{result.__qualname__}", many, paged)
    if key not in _envelopes:
        asked = "The objects asked for" if many else "The object asked for, or written"
        fields = _envelope_fields(result(many=many, help_text=f"{asked}; null on a failure."))
        if paged:
            fields["result_info"] = ResultInfoSerializer(
                help_text="Where this page is in the list."
            )
        _envelopes[key] = type(name, (serializers.Serializer,), fields)
    return _envelopes[key]
