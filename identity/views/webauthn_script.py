"""`/cdn-cgi/access/webauthn.js` and `launcher.js`: the login host's scripts (passkeys, the App
Launcher's search), from the app's own files.

Served by the project's endpoints (reachable on every host, like the login page), so the pages
that use it need no static-files setup and load nothing from another origin.
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

_SCRIPTS = Path(__file__).resolve().parent.parent / "static" / "identity"


@functools.cache
def _script(name: str) -> bytes:
    return (_SCRIPTS / name).read_bytes()


@require_safe
def webauthn_script(request: HttpRequest) -> HttpResponse:
    return _serve("webauthn.js")


@require_safe
def launcher_script(request: HttpRequest) -> HttpResponse:
    return _serve("launcher.js")


def _serve(name: str) -> HttpResponse:
    response = HttpResponse(_script(name), content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
