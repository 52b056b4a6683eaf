"""Which requests reached a view: the proof that a refusal never ran the view behind it.

`ViewSpyMiddleware` goes last in `MIDDLEWARE` (the `views_reached` fixture puts it there) and
records in `process_view`, which Django calls after every earlier middleware let the request
through and just before the view runs. A request the gate answered, or a WSGI wrapper before
Django, is never recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

reached: list[str] = []


class ViewSpyMiddleware:
    """Append the path of every request about to enter its view to `reached`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        reached.append(request.path_info)
