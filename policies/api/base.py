"""The base of every `/api/access/` endpoint: authentication, permissions, errors, renderers.

Authentication belongs to the identity app (API tokens, sign-in sessions), which `policies` never
imports: `identity` hands its classes over with `use_authentication()` when it is ready. Until it
does, no request is authenticated and every endpoint answers 401/403: the API fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from policies.api.errors import api_exception_handler
from policies.api.permissions import ModelPermissions, WritesAllowed
from policies.validation import refuse_unstorable_text

# Filled in place by use_authentication(): DRF reads `authentication_classes` on every request.
_authentication_classes: list[type[BaseAuthentication]] = []


def use_authentication(*classes: type[BaseAuthentication]) -> None:
    """Set how every administration endpoint authenticates callers (the first decides the 401)."""
    _authentication_classes[:] = classes


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, also refusing bodies it would crash on or the database would refuse.

    DRF turns syntax errors into a 400 but lets a body nested deeper than the interpreter
    recurses raise; text with a NUL or an unpaired surrogate parses, then cannot be stored (nor
    echoed back in an error message).
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the body is nested too deeply") from error
        try:
            refuse_unstorable_text(data)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        return data


class AdminApiView(APIView):
    """An administration endpoint: JSON in, enveloped JSON out, Django model permissions.

    Each subclass calls one service or selector per method, with explicit input and output
    serializers (see the modules next to this one).
    """

    authentication_classes = _authentication_classes
    permission_classes = [ModelPermissions, WritesAllowed]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    # Pagination, filtering and throttling are explicit in each view, never inherited from
    # project-wide DRF settings that other APIs of the site may need differently.
    throttle_classes: list[Any] = []

    def get_exception_handler(self) -> Callable[[Exception, Mapping[str, Any]], Response | None]:
        return api_exception_handler
