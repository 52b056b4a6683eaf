"""The OpenAPI schema and its two documentation pages, Swagger UI and ReDoc.

Their scripts and styles come from drf-spectacular-sidecar's static files, and a Content Security
Policy keeps the browser from fetching anything from another host, whatever the bundles try
(ReDoc's menu shows a logo from its vendor's CDN): the pages run with an administrator's session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

# Inline scripts and styles: both pages configure themselves in an inline <script>, and both
# bundles insert <style> elements. ReDoc's search index runs in a worker made from a blob.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ]
)

View = Callable[..., HttpResponse]


def _this_site_only(view: View) -> View:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return wrapped


schema = SpectacularAPIView.as_view()
swagger = _this_site_only(SpectacularSwaggerView.as_view(url_name="api-schema"))
redoc = _this_site_only(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="common/redoc.html")
)


# What the id in a path names, by the path parameter's name. A new one must be added here: the
# schema test refuses a parameter without a description.
PATH_IDS = {
    "application_id": "application",
    "policy_id": "policy",
    "group_id": "access group",
    "provider_id": "identity provider",
    "token_id": "service token",
    "session_id": "Access session",
    "approval_id": "temporary approval",
}


def describe_path_ids(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: say which object each id in a path names."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                named = PATH_IDS.get(parameter.get("name", ""))
                if parameter.get("in") == "path" and named and not parameter.get("description"):
                    parameter["description"] = f"The {named}'s id, as `id` in its answers."
    return result
