"""The base of every `/api/access/` endpoint: authentication, permissions, errors, renderers.

Callers authenticate with an API token first (so an anonymous caller gets a 401 naming Bearer),
then with an admin's Django session: DRF's `SessionAuthentication` enforces CSRF for signed-in
browsers, which is what makes the browsable API safe to use from the admin's session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import Token
from typing import IO, Any, ClassVar

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from common import audit
from common.api.authentication import ApiTokenAuthentication
from common.api.errors import api_exception_handler
from common.api.permissions import ModelPermissions, WritesAllowed
from common.text import refuse_unstorable_text


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
    serializers (see the modules next to this one, and `common.api.resources`), and declares
    where it is served: `route`, its path under `/api/access/`, named `route_name`
    (`common.api.routes`).
    """

    route: ClassVar[str]
    route_name: ClassVar[str]

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [ModelPermissions, WritesAllowed]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    # Pagination, filtering and throttling are explicit in each view, never inherited from
    # project-wide DRF settings that other APIs of the site may need differently.
    throttle_classes: list[Any] = []

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Authenticated now: every change this request makes is recorded as its user's.
        self._audit_token: Token[audit.Actor | None] | None = audit.set_actor(
            audit.actor_of_user(audit.API, request.user)
        )

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        token = getattr(self, "_audit_token", None)
        if token is not None:
            audit.reset_actor(token)
            self._audit_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def actor(self) -> str:
        """Who made this request, as the records of what it does name them: `api:<username>`."""
        return f"api:{self.request.user.get_username()}"

    def get_exception_handler(self) -> Callable[[Exception, Mapping[str, Any]], Response | None]:
        return api_exception_handler
