"""Health endpoints for load balancers and orchestrators.

`/healthz` says the process is alive and answers without touching anything else, so a database
outage never makes a supervisor restart healthy workers. `/readyz` says this process can decide
requests: the database answers, the cache stores, a signing key loads and signs, and the policy
snapshot compiles. A load balancer takes a host out of rotation while `/readyz` fails.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from identity.tokens import issue_token, verify_access_token
from policies.snapshot import get_snapshot

logger = logging.getLogger("accessproject.health")

READINESS_CACHE_KEY = "accessproject:readyz"
# Only this process's own readiness token is ever verified with this issuer.
READINESS_ISSUER = "https://readyz.invalid"


class CheckFailed(Exception):
    """A readiness check ran but got the wrong answer."""


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if row != (1,):
        raise CheckFailed(f"SELECT 1 returned {row!r}")


def _check_cache() -> None:
    # A random value per call: a stale value from another process or an earlier call cannot pass.
    value = secrets.token_hex(8)
    cache.set(READINESS_CACHE_KEY, value, timeout=10)
    if cache.get(READINESS_CACHE_KEY) != value:
        raise CheckFailed("the cache did not return the value just stored")


def _check_signing_keys() -> None:
    nonce = secrets.token_hex(16)
    token = issue_token(
        token_type="org",
        audiences=(),
        email="readyz@readyz.invalid",
        subject="",
        identity_nonce=nonce,
        lifetime=timedelta(minutes=1),
        issuer=READINESS_ISSUER,
    )
    claims = verify_access_token(token, audience=None, token_type="org", issuer=READINESS_ISSUER)
    if claims.identity_nonce != nonce:
        raise CheckFailed("the verified token is not the one just signed")


def _check_snapshot() -> None:
    get_snapshot()


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "signing_keys": _check_signing_keys,
    "snapshot": _check_snapshot,
}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive: `200 ok`, touching neither the database nor the cache."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency a decision needs: `200` with each check `ok`, or `503` naming what failed.

    The reason stays in the log: the response is public and says only which check failed.
    """
    results: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception:  # every failure, whatever its kind, means "not ready"
            logger.exception("readiness check %s failed", name, extra={"check": name})
            results[name] = "failed"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(results, status=200 if ready else 503)
