"""The benchmark's configuration: a protected application, a CORS application and a valid cookie.

`python -m tests.bench.seed [project|scale|anchor]` (in the environment `tests.bench.run` prepares)
migrates the database, stores the configuration and prints it as JSON for the load generator:
`project` the two applications, `scale` the same plus 10,000 applications (1,000 policies), and
`anchor` a signed-in Django user's session cookie for the `LoginRequiredMiddleware` anchor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

BENCH_HOST = "bench.localhost"
LOGIN_HOST = f"access.{BENCH_HOST}"
ALLOWED_ORIGIN = "https://app.example.com"
PREFLIGHT_HEADERS = {
    "Origin": ALLOWED_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}
EVERYONE_AT_EXAMPLE = [{"email_domain": {"domain": "example.com"}}]


@dataclass(frozen=True)
class Scenario:
    """One request the benchmark repeats, and the answer that proves it measures the right thing."""

    name: str
    path: str
    method: str
    headers: dict[str, str]
    expected_status: int
    expected_header: tuple[str, str] | None = None
    server: str = "project"  # which gunicorn serves it: the project or one of the anchors


def anchor_scenarios(cookie: str, session_cookie: str) -> list[Scenario]:
    """The same tiny view served by plain Django: bare, its default stack, and its default stack
    with `LoginRequiredMiddleware` and a signed-in database session.

    Each carries the project's `CF_Authorization` cookie too, so every request parses the same
    Cookie header.
    """
    host = {"Host": BENCH_HOST}
    return [
        Scenario("bare Django", "/open/", "GET", {**host, "Cookie": cookie}, 200, server="bare"),
        Scenario(
            "default stack",
            "/open/",
            "GET",
            {**host, "Cookie": cookie},
            200,
            server="default_stack",
        ),
        Scenario(
            "login required",
            "/protected/",
            "GET",
            {**host, "Cookie": f"{cookie}; {session_cookie}"},
            200,
            server="login_required",
        ),
    ]


def scenarios(cookie: str) -> list[Scenario]:
    """Unprotected, protected (valid cookie, allow policy) and a preflight the gate answers.

    The unprotected request carries the same cookie, as a browser's would on that host: the
    difference between the two is then the gate's work alone, not Django parsing a longer
    Cookie header.
    """
    host = {"Host": BENCH_HOST}
    return [
        Scenario("unprotected", "/open/", "GET", {**host, "Cookie": cookie}, 200),
        Scenario("protected", "/protected/", "GET", {**host, "Cookie": cookie}, 200),
        Scenario(
            "preflight",
            "/api/",
            "OPTIONS",
            {**host, **PREFLIGHT_HEADERS},
            200,
            ("Access-Control-Allow-Origin", ALLOWED_ORIGIN),
        ),
    ]


# Without the cookie the gate must send the request to sign in: proof that it is engaged.
UNAUTHENTICATED = Scenario("no cookie", "/protected/", "GET", {"Host": BENCH_HOST}, 302)


def bench_environment(*, data_dir: str, port: int) -> dict[str, str]:
    """The settings every benchmark process runs with: production defaults, loopback only."""
    return {
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": f"{BENCH_HOST},{LOGIN_HOST},127.0.0.1",
        "ACCESS_TEAM_DOMAIN": LOGIN_HOST,
        "ACCESS_DEMO": "0",
        "ACCESS_DATA_DIR": data_dir,
        "DATABASE_URL": f"sqlite:///{data_dir}/bench.sqlite3",
        "CACHE_URL": "locmemcache://bench",
        # Plain HTTP on loopback: no TLS redirect.
        "SECURE_SSL_REDIRECT": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


def seed_gate_configuration() -> dict[str, Any]:
    """Store the two applications and return the cookie and headers the scenarios send."""
    from django.utils import timezone

    from identity.sessions import new_identity_nonce, session_create
    from identity.tokens import issue_token, issuer_for
    from policies.services import application_create, policy_create

    protected = application_create(
        name="bench protected", domain=f"{BENCH_HOST}/protected", session_duration="24h"
    )
    policy_create(
        application=protected,
        name="example staff",
        decision="allow",
        precedence=1,
        include=EVERYONE_AT_EXAMPLE,
    )
    api = application_create(
        name="bench api",
        domain=f"{BENCH_HOST}/api",
        session_duration="24h",
        cors_headers={
            "allowed_origins": [ALLOWED_ORIGIN],
            "allowed_methods": ["GET", "POST"],
            "allowed_headers": ["content-type"],
            "allow_credentials": True,
            "max_age": 600,
        },
    )
    policy_create(
        application=api,
        name="example staff",
        decision="allow",
        precedence=1,
        include=EVERYONE_AT_EXAMPLE,
    )
    nonce = new_identity_nonce()
    now = timezone.now()
    session_create(
        email="person@example.com",
        application=protected,
        identity_nonce=nonce,
        login_method="bench",
        issued_at=now,
        expires_at=now + timedelta(hours=2),
    )
    token = issue_token(
        token_type="app",
        audiences=[protected.aud],
        email="person@example.com",
        subject="bench",
        identity_nonce=nonce,
        lifetime=timedelta(hours=2),
        issuer=issuer_for(LOGIN_HOST, scheme="http"),
    )
    return {"cookie": f"CF_Authorization={token}"}


def seed_anchor_session() -> dict[str, Any]:
    """A Django user signed in with a database session: the `LoginRequiredMiddleware` anchor."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password")
    client = Client()
    client.force_login(user)
    return {"session_cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies['sessionid'].value}"}


def main() -> None:
    import sys

    import django
    from django.core.management import call_command

    mode = sys.argv[1] if len(sys.argv) > 1 else "project"
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if mode == "anchor":
        print(json.dumps(seed_anchor_session()))
        return
    if mode == "scale":
        from tests.bench.decision import SCALE_APPLICATIONS, SCALE_POLICY_EVERY, store_configuration

        store_configuration(SCALE_APPLICATIONS, SCALE_POLICY_EVERY)
    print(json.dumps(seed_gate_configuration()))


if __name__ == "__main__":
    main()
