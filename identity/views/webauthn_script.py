"""`/cdn-cgi/access/webauthn.js`: the login host's passkey script, from the app's own files.

Served by the project's endpoints (reachable on every host, like the login page), so the pages
that use it need no static-files setup and load nothing from another origin.
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

_SCRIPT = Path(__file__).resolve().parent.parent / "static" / "identity" / "webauthn.js"


@functools.cache
def _script() -> bytes:
    return _SCRIPT.read_bytes()


@require_safe
def webauthn_script(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
