"""Settings the policies app reads, looked up lazily (nothing is read at import time)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from policies.durations import parse_duration


class PoliciesSettings:
    """Typed, lazy access to the global knobs of the policies app."""

    @property
    def allow_http_deny_urls(self) -> bool:
        """Deny-page redirects may use plain http only in development (DEBUG)."""
        return bool(settings.DEBUG)

    @property
    def max_application_patterns(self) -> int:
        """Domain plus destinations per application (Access allows 5)."""
        return int(getattr(settings, "ACCESS_MAX_APPLICATION_PATTERNS", 5))

    @property
    def service_token_rotation_grace(self) -> timedelta:
        """How long a rotated service token's previous secret keeps working."""
        return parse_duration(str(getattr(settings, "ACCESS_SERVICE_TOKEN_ROTATION_GRACE", "24h")))

    @property
    def views_set_cors(self) -> bool:
        """Whether the project's views answer CORS themselves (django-cors-headers installed):
        then responses of `cors_headers` applications get their headers without the gate."""
        return "corsheaders.middleware.CorsMiddleware" in getattr(settings, "MIDDLEWARE", ())


conf = PoliciesSettings()
