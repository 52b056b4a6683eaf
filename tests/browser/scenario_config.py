"""The applications and people the browser scenarios run against, as an `access_apply` file.

Each application protects its own prefix of the demo echo view, so every scenario reaches the
same view and the view log shows exactly what it received.
"""

from dataclasses import dataclass
from typing import Any

from tests.browser.servers import API_HOST, SECOND_HOST

CUSTOM_HEADER = "X-Api-Version"
ALLOWED_METHODS = ["GET", "PUT"]
PREFLIGHT_MAX_AGE = 600
SESSION_DURATION = "1h"


@dataclass(frozen=True)
class Person:
    email: str
    username: str = ""
    password: str = ""


# Signs in with a password (a Django user).
ADA = Person(email="ada@example.com", username="ada", password="correct horse battery staple")
# Signs in with a one-time PIN (no Django user).
GRACE = Person(email="grace@example.com")
# Holds a genuine token, but no policy lets this address in.
MALLORY = Person(email="mallory@elsewhere.test")
# Who most policies let in: Ada and Grace, not Mallory.
EXAMPLE_COM = [{"email_domain": {"domain": "example.com"}}]


@dataclass(frozen=True)
class ProtectedApp:
    """An application of the scenarios: its name in the config file and the prefix it protects."""

    name: str
    host: str
    path: str

    @property
    def domain(self) -> str:
        return f"{self.host}{self.path}"

    def path_for(self, marker: str) -> str:
        return f"{self.path}/{marker}"


# No CORS settings at all: the seed's default.
PLAIN = ProtectedApp("Plain API", API_HOST, "/demo/echo/plain")
# `cors_headers` for the calling site, with credentials, one custom header and two methods.
CORS = ProtectedApp("CORS API", API_HOST, "/demo/echo/cors")
# The same `cors_headers`, opted in to the actual responses of allowed requests too.
CORS_ON_RESPONSES = ProtectedApp("CORS Responses API", API_HOST, "/demo/echo/gatecors")
# `options_preflight_bypass`: the view answers preflights itself.
PREFLIGHT_BYPASS = ProtectedApp("Preflight Bypass API", API_HOST, "/demo/echo/bypass")
# `cors_headers` and the opt-in 401 for scripts whose session is gone.
STRICT = ProtectedApp("Unauthenticated 401 API", API_HOST, "/demo/echo/strict")
# Another host, for single sign-on through the login host.
SECOND = ProtectedApp("Second App", SECOND_HOST, "/demo/echo/second")
# A policy that requires a second factor (`mfa`), on the second host.
MFA = ProtectedApp("MFA App", SECOND_HOST, "/demo/echo/mfa")
MFA_RULE = {"auth_method": {"auth_method": "mfa"}}
# A policy that wants a temporary approval, from Ada, before anyone enters.
APPROVAL = ProtectedApp("Approval App", SECOND_HOST, "/demo/echo/approval")
APPROVAL_PROMPT = "What will you do in this application?"
APPROVAL_POLICY = {
    "purpose_justification_required": True,
    "purpose_justification_prompt": APPROVAL_PROMPT,
    "approval_required": True,
    "approval_groups": [{"approvals_needed": 1, "email_addresses": [ADA.email]}],
}
# A policy that asks why before letting anyone in (purpose justification).
PURPOSE = ProtectedApp("Purpose App", SECOND_HOST, "/demo/echo/purpose")
PURPOSE_PROMPT = "Which ticket are you working on?"


def _application(
    app: ProtectedApp,
    *,
    require: tuple[Any, ...] = (),
    policy: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "name": app.name,
        "domain": app.domain,
        "session_duration": SESSION_DURATION,
        # Every application's cookie must travel on cross-site requests for CORS to matter.
        "same_site_cookie_attribute": "none",
        "policies": [
            {
                "name": "People at example.com",
                "decision": "allow",
                "precedence": 1,
                "include": EXAMPLE_COM,
                "require": list(require),
                **(policy or {}),
            }
        ],
        **fields,
    }


def access_configuration(calling_origin: str) -> dict[str, Any]:
    """The configuration file for the scenarios; `calling_origin` is the calling site's origin."""
    cors_headers = {
        "allowed_origins": [calling_origin],
        "allowed_methods": ALLOWED_METHODS,
        "allowed_headers": [CUSTOM_HEADER.lower()],
        "allow_credentials": True,
        "max_age": PREFLIGHT_MAX_AGE,
    }
    return {
        "applications": [
            _application(PLAIN),
            _application(CORS, cors_headers=cors_headers),
            _application(CORS_ON_RESPONSES, cors_headers=cors_headers, cors_on_responses=True),
            _application(PREFLIGHT_BYPASS, options_preflight_bypass=True),
            _application(STRICT, cors_headers=cors_headers, unauthenticated_401=True),
            _application(SECOND),
            _application(MFA, require=(MFA_RULE,)),
            _application(APPROVAL, policy=APPROVAL_POLICY),
            _application(
                PURPOSE,
                policy={
                    "purpose_justification_required": True,
                    "purpose_justification_prompt": PURPOSE_PROMPT,
                },
            ),
        ]
    }


# The App Launcher's own server (tests/browser/conftest.py's `launcher_project`): which tiles
# each person sees is the point, so the applications differ in who they let in. Ada and Grace
# (example.com) may both open the wiki; payroll lets in Ada only, the help desk Grace only.
WIKI = ProtectedApp("Team Wiki", API_HOST, "/demo/echo/wiki")
PAYROLL = ProtectedApp("Payroll", SECOND_HOST, "/demo/echo/payroll")
HELP_DESK = ProtectedApp("Help Desk", API_HOST, "/demo/echo/helpdesk")
# Tiles for nobody: one the launcher does not list, one whose policy refuses everyone.
HIDDEN = ProtectedApp("Hidden Tool", SECOND_HOST, "/demo/echo/hidden")
VAULT = ProtectedApp("Vault", SECOND_HOST, "/demo/echo/vault")


def _only(person: Person) -> dict[str, Any]:
    return {"name": person.email, "include": [{"email": {"email": person.email}}]}


def launcher_configuration() -> dict[str, Any]:
    """The configuration file of the launcher's server: the launcher (people at example.com
    may open it) and the applications above."""
    return {
        "applications": [
            {
                "name": "App Launcher",
                "type": "app_launcher",
                "domain": "",
                "policies": [
                    {
                        "name": "People at example.com",
                        "decision": "allow",
                        "precedence": 1,
                        "include": EXAMPLE_COM,
                    }
                ],
            },
            _application(WIKI),
            _application(PAYROLL, policy=_only(ADA)),
            _application(HELP_DESK, policy=_only(GRACE)),
            _application(HIDDEN, app_launcher_visible=False),
            _application(
                VAULT, policy={"name": "Nobody", "decision": "deny", "include": [{"everyone": {}}]}
            ),
        ]
    }


CREATE_PASSWORD_USER = (
    "from django.contrib.auth import get_user_model; "
    f"get_user_model().objects.create_user({ADA.username!r}, {ADA.email!r}, {ADA.password!r})"
)
