"""`/cdn-cgi/access/certs`: the public keys that verify Access tokens, in Cloudflare's shape.

{"keys": [JWK, ...], "public_cert": {"kid", "cert"}, "public_certs": [{"kid", "cert"}, ...]}
with the current key first and every previous key still verifying after it. Other services
fetch it to check `Cf-Access-Jwt-Assertion`; a short public cache lifetime lets them pick up a
rotation quickly (the previous key keeps verifying for 7 days anyway).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from identity.keys import SigningKeyUnavailable, published_keys

CACHE_CONTROL = "public, max-age=300"


@require_safe
def certs(request: HttpRequest) -> HttpResponse:
    """Publish the current and previous public keys (JWKS plus PEM certificates)."""
    try:
        keyset = published_keys()
    except SigningKeyUnavailable:
        response = JsonResponse({"err": "signing keys are unavailable"}, status=503)
        response["Cache-Control"] = "no-store"
        return response
    # Keys whose grace ended since the keyset was built are no longer published.
    now = timezone.now()
    keys = [key for key in keyset.values() if key.verifies_at(now)]
    current = keyset.current
    body = {
        "keys": [dict(key.jwk) for key in keys],
        "public_cert": (
            {"kid": current.kid, "cert": current.certificate_pem} if current is not None else {}
        ),
        "public_certs": [{"kid": key.kid, "cert": key.certificate_pem} for key in keys],
    }
    response = JsonResponse(body)
    response["Cache-Control"] = CACHE_CONTROL
    return response
