"""Every failure of the API as an envelope with one error per problem.

Validation errors come from the services (a Django `ValidationError` keyed by field path, e.g.
`cors_headers.max_age`) or from an input serializer (DRF's nested `detail`); both become one
`{"code": 1004, "message": "<field.path>: <message>"}` per problem, so the API says exactly what
the admin and `access_apply` say. Authentication, permission, routing and parsing failures keep
their HTTP status and get a code of their own; anything else is a bug and is not hidden here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from common.api.envelope import ApiError, envelope, failure

# Codes follow Cloudflare's API where it has one for the same failure.
CODE_VALIDATION = 1004
CODE_MALFORMED_REQUEST = 6007
CODE_UNSUPPORTED_MEDIA_TYPE = 6003
CODE_NOT_ACCEPTABLE = 6004
CODE_NO_ROUTE = 7000
CODE_METHOD_NOT_ALLOWED = 7001
CODE_NOT_FOUND = 7003
CODE_THROTTLED = 971
CODE_NOT_AUTHENTICATED = 10000
CODE_PERMISSION_DENIED = 10001

_CODES: dict[type[exceptions.APIException], int] = {
    exceptions.ParseError: CODE_MALFORMED_REQUEST,
    exceptions.UnsupportedMediaType: CODE_UNSUPPORTED_MEDIA_TYPE,
    exceptions.NotAcceptable: CODE_NOT_ACCEPTABLE,
    exceptions.MethodNotAllowed: CODE_METHOD_NOT_ALLOWED,
    exceptions.NotFound: CODE_NOT_FOUND,
    exceptions.Throttled: CODE_THROTTLED,
    exceptions.NotAuthenticated: CODE_NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: CODE_NOT_AUTHENTICATED,
    exceptions.PermissionDenied: CODE_PERMISSION_DENIED,
}


def validation_messages(errors: Mapping[str, Any]) -> list[str]:
    """`"<path>: <message>"` for every message of a `{path: messages}` mapping, in order.

    Nested mappings and lists (DRF's `detail`) extend the path (`cors_headers.max_age`,
    `include[0]`); errors of the whole object (`__all__`, `non_field_errors`) have no path.
    """
    return [
        f"{path}: {message}" if path else message for path, message in _flatten(errors, prefix="")
    ]


def _flatten(value: object, *, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            key = str(key)
            if key in ("__all__", "non_field_errors"):
                yield from _flatten(item, prefix=prefix)
            else:
                yield from _flatten(item, prefix=f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            for item in value:
                yield prefix, str(item)
        else:
            for index, item in enumerate(value):
                if item:  # DRF's list errors hold an empty entry for each valid item
                    yield from _flatten(item, prefix=f"{prefix}[{index}]")
    else:
        yield prefix, str(value)


def _validation_response(messages: list[str]) -> Response:
    return failure(
        [ApiError(CODE_VALIDATION, message) for message in messages],
        status_code=status.HTTP_400_BAD_REQUEST,
    )


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's exception handler for the API: every known failure becomes an error envelope.

    Returns None for anything else, so that DRF re-raises it (a bug must show as one).
    """
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _validation_response(validation_messages(errors))
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(validation_messages({"__all__": exc.detail}))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    code = next(
        (code for kind, code in _CODES.items() if isinstance(exc, kind)), CODE_MALFORMED_REQUEST
    )
    detail = exc.detail
    message = (
        " ".join(validation_messages({"__all__": detail}))
        if isinstance(detail, list | dict)
        else str(detail)
    )
    return failure([ApiError(code, message)], status_code=exc.status_code, headers=headers)


@csrf_exempt  # it changes nothing; a CSRF refusal would only hide the 404 behind an HTML page
def no_route(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any path under the API prefix that no endpoint serves: a 404 in the envelope."""
    body = envelope(None, errors=[ApiError(CODE_NO_ROUTE, "No route for that URI")])
    return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)
