"""What the soak does to its database from a process of the deployment (same environment as the
gunicorn instances): seed it, write the 1,000-application file, and check afterwards that every
record the run was told had been written is there.

`python -m tests.soak.actions <action> [arguments]` prints one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.production.actions import HOST, _mint
from tests.production.actions import SERVICE_PATH as SERVICE_PATH
from tests.production.actions import seed as production_seed

ECHO = "/demo/echo"
MAIN_PATH = f"{ECHO}/main"
POLICY_PATH = f"{ECHO}/policy"
CORS_PATH = f"{ECHO}/cors"
BULK_PATH = f"{ECHO}/bulk"
OPEN_PATH = f"{ECHO}/open"
CALLER = "http://caller.localhost"
KEPT_DOMAIN = "example.com"
DROPPED_DOMAIN = "example.org"  # the policy change stops letting these people in
REVOKED_EMAIL = "revoked@example.com"
PASSWORD = "soak password, long enough"


def _people_include(*domains: str) -> list[dict[str, Any]]:
    return [{"email_domain": {"domain": domain}} for domain in domains]


def seed(people: str, signers: str) -> dict[str, Any]:
    """The applications, `people` sessions (half at each domain), `signers` password users, a
    service token and an administrator's API token."""
    from django.contrib.auth import get_user_model

    from policies.services import application_create, policy_create

    def protected(name: str, path: str, **fields: Any) -> Any:
        application = application_create(
            name=f"soak {name}", domain=f"{HOST}{path}", session_duration="24h", **fields
        )
        policy = policy_create(
            application=application,
            name="people",
            decision="allow",
            precedence=1,
            include=_people_include(KEPT_DOMAIN, DROPPED_DOMAIN),
        )
        return application, policy

    main, _ = protected("main", MAIN_PATH)
    policy_app, policy = protected("policy", POLICY_PATH)
    protected(
        "cors",
        CORS_PATH,
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"], "max_age": 60},
    )
    # The service application, its token and the administrator's API token, as the
    # multi-process tests have them.
    deployment = production_seed()
    sessions = []
    for index in range(int(people)):
        domain = KEPT_DOMAIN if index % 2 == 0 else DROPPED_DOMAIN
        email = f"person{index}@{domain}"
        sessions.append(
            {
                "email": email,
                "main": _mint(email, main.aud),
                "policy": _mint(email, policy_app.aud),
            }
        )
    revoked = _mint(REVOKED_EMAIL, main.aud)
    users = get_user_model()
    signer_names = []
    for index in range(int(signers)):
        username = f"signer{index}"
        users.objects.create_user(username, f"{username}@{KEPT_DOMAIN}", PASSWORD)
        signer_names.append(username)
    return {
        "api_token": deployment["api_token"],
        "policy_app_id": policy_app.pk,
        "policy_id": policy.pk,
        "service": deployment["service"],
        "sessions": sessions,
        "revoked": {"email": REVOKED_EMAIL, **revoked},
        "signers": signer_names,
    }


def bulk_file(count: str, path: str) -> dict[str, Any]:
    """Write a configuration file of `count` applications at `/demo/echo/bulk/<n>`."""
    applications = [
        {
            "name": f"bulk {index}",
            "domain": f"{HOST}{BULK_PATH}/{index}",
            "session_duration": "1h",
            "policies": [
                {
                    "name": "people",
                    "decision": "allow",
                    "precedence": 1,
                    "include": _people_include(KEPT_DOMAIN),
                }
            ],
        }
        for index in range(int(count))
    ]
    Path(path).write_text(json.dumps({"applications": applications}))
    return {"path": path, "applications": len(applications)}


def verify(path: str) -> dict[str, Any]:
    """Every record the run was told had been written, looked up: `missing` names each absent.

    The file holds what was acknowledged: `sign_ins` and `logouts` ({email, nonce}),
    `revocations` ({email, cutoff_id}), `rotations` (kids), `policy_updates` ({policy_id}),
    `bulk` (how many applications the file applied).
    """
    from common.models import AuditEntry
    from identity.models import AccessSession, AuthEvent, RevocationCutoff, SigningKey
    from policies.models import Application

    told = json.loads(Path(path).read_text())
    missing: list[str] = []
    checked: dict[str, int] = {}

    def events(kind: str, email: str) -> int:
        return AuthEvent.objects.filter(kind=kind, email=email).count()

    sign_ins = told["sign_ins"]
    for entry in sign_ins:
        if not AccessSession.objects.filter(identity_nonce=entry["nonce"]).exists():
            missing.append(f"session of the sign-in {entry['nonce']} ({entry['email']})")
    for email in {entry["email"] for entry in sign_ins}:
        expected = sum(1 for entry in sign_ins if entry["email"] == email)
        if events(AuthEvent.Kind.SIGN_IN, email) < expected:
            missing.append(f"sign-in events of {email}: fewer than {expected}")
    checked["sign-ins"] = len(sign_ins)
    logouts = told["logouts"]
    for entry in logouts:
        sessions = AccessSession.objects.filter(identity_nonce=entry["nonce"])
        if not sessions.exists() or sessions.filter(revoked_at__isnull=True).exists():
            missing.append(f"revocation of the logged-out sign-in {entry['nonce']}")
    for email in {entry["email"] for entry in logouts}:
        expected = sum(1 for entry in logouts if entry["email"] == email)
        if events(AuthEvent.Kind.LOGOUT, email) < expected:
            missing.append(f"logout events of {email}: fewer than {expected}")
    checked["logouts"] = len(logouts)
    for entry in told["revocations"]:
        cutoff = str(entry["cutoff_id"])
        if not RevocationCutoff.objects.filter(
            pk=entry["cutoff_id"], email=entry["email"]
        ).exists():
            missing.append(f"revocation cutoff {cutoff}")
        if not AuditEntry.objects.filter(object_type="revocation", object_id=cutoff).exists():
            missing.append(f"audit entry of the revocation {cutoff}")
        if not events(AuthEvent.Kind.REVOCATION, entry["email"]):
            missing.append(f"revocation event of {entry['email']}")
    checked["revocations"] = len(told["revocations"])
    for kid in told["rotations"]:
        if not SigningKey.objects.filter(kid=kid).exists():
            missing.append(f"signing key {kid}")
        if not AuditEntry.objects.filter(object_type="signing key", object_name=kid).exists():
            missing.append(f"audit entry of the rotation to {kid}")
    checked["rotations"] = len(told["rotations"])
    for entry in told["policy_updates"]:
        audited = AuditEntry.objects.filter(
            object_type="policy", object_id=str(entry["policy_id"]), action="update"
        )
        if not audited.exists():
            missing.append(f"audit entry of the change to policy {entry['policy_id']}")
    checked["policy changes"] = len(told["policy_updates"])
    bulk = int(told["bulk"])
    applied = Application.objects.filter(name__startswith="bulk ").count()
    if applied != bulk:
        missing.append(f"applications of the file: {applied} of {bulk}")
    audited = AuditEntry.objects.filter(
        object_type="application", action="create", object_name__startswith="bulk "
    ).count()
    if audited < bulk:
        missing.append(f"audit entries of the file's applications: {audited} of {bulk}")
    checked["applied applications"] = bulk
    return {"checked": checked, "missing": missing}


ACTIONS = {"seed": seed, "bulk-file": bulk_file, "verify": verify}


def main() -> None:
    import django

    django.setup()
    name, *arguments = sys.argv[1:]
    print(json.dumps(ACTIONS[name](*arguments)))


if __name__ == "__main__":
    main()
