"""What is protected and who may pass: applications, their policies, access groups, service tokens.

The models only store. Every rule about what a valid row looks like lives in
`policies.validation` (shared by the admin, the API and config files through `policies.services`),
and the gate never reads these tables per request: `policies.snapshot` compiles them once per
configuration version.
"""

from __future__ import annotations

import secrets

from django.db import models

from policies.providers import PROVIDER_TYPES

DEFAULT_DENY_MESSAGE = "That account does not have access."
DEFAULT_SESSION_DURATION = "24h"
DEFAULT_SERVICE_TOKEN_DURATION = "8760h"
FOREVER = "forever"
DEFAULT_PURPOSE_PROMPT = "Why do you need to open this application?"
PURPOSE_PROMPT_MAX_LENGTH = 1000


def new_aud() -> str:
    """A fresh AUD tag: 64 hex characters, as Access generates them."""
    return secrets.token_hex(32)


class ConfigurationModel(models.Model):
    """What every configuration object has: when it was created and last changed, and its name
    as what it shows as (each declares its `name`)."""

    name: str
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class NamedConfigurationModel(ConfigurationModel):
    """A configuration object listed by its name."""

    class Meta(ConfigurationModel.Meta):
        abstract = True
        ordering = ["name"]


class IdentityProvider(NamedConfigurationModel):
    """A way to sign in: a row with its own id, a `type` and that type's `config`.

    Rules refer to it by id (`login_method`, `oidc`, `github-organization`) or, for
    `login_method`, by name; applications offer it through `allowed_idps`. The shape of each
    type's config is declared once in `policies.providers`; secret fields are kept apart in
    `secrets`, encrypted (`policies.providers.encrypt_secrets`), and never shown.
    """

    # Derived from the one declaration of the types (ONETIMEPIN, PASSWORD, OIDC, ..., GITHUB).
    Type = models.TextChoices(  # type: ignore[call-overload]
        "Type",
        [(entry.type.upper(), (entry.type, entry.label)) for entry in PROVIDER_TYPES.values()],
    )

    name = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    config = models.JSONField(
        default=dict, blank=True, help_text="The type's settings, without its secrets."
    )
    secrets = models.TextField(
        blank=True, default="", editable=False, help_text="Secret settings, encrypted at rest."
    )


class AccessGroup(NamedConfigurationModel):
    """A reusable set of rules, used inside other rules as `{"group": {"name": ...}}`."""

    name = models.CharField(max_length=200, unique=True)
    include = models.JSONField(default=list, blank=True)
    require = models.JSONField(default=list, blank=True)
    exclude = models.JSONField(default=list, blank=True)

    class Meta(NamedConfigurationModel.Meta):
        verbose_name = "access group"


class ServiceToken(NamedConfigurationModel):
    """A machine credential: `CF-Access-Client-Id` plus a secret that is stored only hashed.

    Rotation keeps the previous secret's hash valid until `previous_secret_expires_at`, so a
    fleet of clients can move to the new secret without an outage.
    """

    name = models.CharField(max_length=200, unique=True)
    client_id = models.CharField(max_length=100, unique=True)
    secret_hash = models.CharField(max_length=200)
    duration = models.CharField(max_length=32, default=DEFAULT_SERVICE_TOKEN_DURATION)
    expires_at = models.DateTimeField(null=True, blank=True)
    client_secret_version = models.PositiveIntegerField(default=1)
    previous_secret_hash = models.CharField(max_length=200, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(NamedConfigurationModel.Meta):
        verbose_name = "service token"


class Application(NamedConfigurationModel):
    """A protected host/path (plus up to four more destinations) and how the gate treats it.

    Field names are Cloudflare Access's, so that the admin, the API and config files read the same.
    """

    class SameSite(models.TextChoices):
        NONE = "none", "None"
        LAX = "lax", "Lax"
        STRICT = "strict", "Strict"

    class Type(models.TextChoices):
        # As Access's `type`: a protected host/path, or the App Launcher (at most one), whose
        # policies decide who may open the launcher at `/` on the login host.
        SELF_HOSTED = "self_hosted", "Self-hosted"
        APP_LAUNCHER = "app_launcher", "App Launcher"

    name = models.CharField(max_length=350, unique=True)
    type = models.CharField(
        max_length=20,
        choices=Type.choices,
        default=Type.SELF_HOSTED,
        help_text="App Launcher: its policies decide who may open the launcher; it has no domain.",
    )
    domain = models.CharField(
        max_length=255,
        blank=True,
        help_text="Primary host and optional path, e.g. app.example.com/api.",
    )
    destinations = models.JSONField(
        default=list,
        blank=True,
        help_text="More host/path patterns covered by this application (at most 4).",
    )
    aud = models.CharField("AUD tag", max_length=64, unique=True, default=new_aud, editable=False)
    session_duration = models.CharField(
        max_length=32,
        default=DEFAULT_SESSION_DURATION,
        help_text='How long a sign-in lasts, in Go syntax: "30m", "2h45m", "24h".',
    )
    same_site_cookie_attribute = models.CharField(
        max_length=10, choices=SameSite.choices, default=SameSite.LAX
    )
    http_only_cookie_attribute = models.BooleanField(default=True)
    enable_binding_cookie = models.BooleanField(default=False)
    options_preflight_bypass = models.BooleanField(
        default=False,
        help_text="Let CORS preflights reach the view unauthenticated (excludes CORS headers).",
    )
    cors_headers = models.JSONField(
        null=True,
        blank=True,
        help_text="CORS settings the gate answers preflights with; empty means not set.",
    )
    cors_on_responses = models.BooleanField(
        default=False,
        help_text="Also add the CORS headers to responses of allowed requests.",
    )
    unauthenticated_401 = models.BooleanField(
        default=False,
        help_text="Answer unauthenticated non-page-load requests with a 401 JSON body.",
    )
    custom_deny_message = models.TextField(
        blank=True,
        default="",
        help_text=f'Shown on the deny page; empty means "{DEFAULT_DENY_MESSAGE}"',
    )
    custom_deny_url = models.CharField(max_length=2048, blank=True, default="")
    custom_non_identity_deny_url = models.CharField(max_length=2048, blank=True, default="")
    service_auth_401_redirect = models.BooleanField(default=False)
    allowed_idps = models.ManyToManyField(
        IdentityProvider,
        blank=True,
        related_name="applications",
        help_text="Identity providers offered at sign-in; none selected means all.",
    )
    auto_redirect_to_identity = models.BooleanField(default=False)
    require_second_factor_enrolment = models.BooleanField(
        default=False,
        help_text="People without a second factor are taken through enrolling one at sign-in.",
    )
    app_launcher_visible = models.BooleanField(
        default=True,
        help_text="Show a tile in the App Launcher to people who may open it (reaching the "
        "application does not depend on it).",
    )
    logo_url = models.CharField(
        max_length=2048,
        blank=True,
        default="",
        help_text="The tile's logo in the App Launcher: an https:// image URL; empty means none.",
    )

    class Meta(NamedConfigurationModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["type"],
                condition=models.Q(type="app_launcher"),
                name="application_one_app_launcher",
                violation_error_message="There is one App Launcher already; change that one.",
            )
        ]

    @property
    def deny_message(self) -> str:
        """The text of the deny page."""
        return self.deny_message_for(self.custom_deny_message)

    @staticmethod
    def deny_message_for(custom_deny_message: str) -> str:
        """The deny page's text for a stored `custom_deny_message` (empty: the default)."""
        return custom_deny_message or DEFAULT_DENY_MESSAGE


# An application's configuration, declared once: every field a person sets, by the names the
# admin, the API and config files share (docs/architecture.md, "Application fields"), in the
# order exports write them. Validation accepts exactly these, the selectors read them, the admin
# form edits them and the snapshot compiles the columns (with `id` and `aud`, which are the
# project's own); `allowed_idps`, a relation, is read apart.
APPLICATION_FIELDS: tuple[str, ...] = (
    "name",
    "type",
    "domain",
    "destinations",
    "session_duration",
    "same_site_cookie_attribute",
    "http_only_cookie_attribute",
    "enable_binding_cookie",
    "options_preflight_bypass",
    "cors_headers",
    "cors_on_responses",
    "unauthenticated_401",
    "custom_deny_message",
    "custom_deny_url",
    "custom_non_identity_deny_url",
    "service_auth_401_redirect",
    "allowed_idps",
    "auto_redirect_to_identity",
    "require_second_factor_enrolment",
    "app_launcher_visible",
    "logo_url",
)
APPLICATION_COLUMNS: tuple[str, ...] = tuple(
    name for name in APPLICATION_FIELDS if not Application._meta.get_field(name).many_to_many
)
# The columns that take true or false.
APPLICATION_BOOLEANS: tuple[str, ...] = tuple(
    name
    for name in APPLICATION_COLUMNS
    if isinstance(Application._meta.get_field(name), models.BooleanField)
)


class Policy(ConfigurationModel):
    """Who may pass an application, and how; evaluated in the order of docs/architecture.md."""

    class Decision(models.TextChoices):
        ALLOW = "allow", "Allow"
        DENY = "deny", "Block"
        NON_IDENTITY = "non_identity", "Service Auth"
        BYPASS = "bypass", "Bypass"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=200)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    precedence = models.PositiveIntegerField()
    include = models.JSONField(default=list, blank=True)
    require = models.JSONField(default=list, blank=True)
    exclude = models.JSONField(default=list, blank=True)
    session_duration = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Overrides the application's session duration; empty means the application's.",
    )
    purpose_justification_required = models.BooleanField(
        default=False,
        help_text="Ask the person why they are entering, once per session (allow policies only).",
    )
    purpose_justification_prompt = models.CharField(
        max_length=PURPOSE_PROMPT_MAX_LENGTH,
        blank=True,
        default="",
        help_text="The question the purpose page asks; empty means the default one.",
    )
    approval_required = models.BooleanField(
        default=False,
        help_text=(
            "Temporary authentication: the person needs an approver's approval to enter "
            "(allow policies only; needs purpose justification and an approval group)."
        ),
    )
    approval_groups = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'Who approves: [{"approvals_needed": 1, "email_addresses": ["ann@example.com"]}].'
        ),
    )

    class Meta:
        ordering = ["application", "precedence"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(
                fields=["application", "precedence"], name="policy_unique_precedence"
            ),
            models.UniqueConstraint(fields=["application", "name"], name="policy_unique_name"),
        ]


# A policy's configuration, declared once, in the order the admin shows it and exports write it:
# every field a person sets (docs/architecture.md, "Policy fields"). Validation accepts exactly
# these, the selectors read them, the admin's policy form edits them and the snapshot compiles
# them (with `id` and `application_id`).
POLICY_FIELDS: tuple[str, ...] = (
    "name",
    "decision",
    "precedence",
    "include",
    "require",
    "exclude",
    "session_duration",
    "purpose_justification_required",
    "purpose_justification_prompt",
    "approval_required",
    "approval_groups",
)
# Those that hold JSON lists (rules, approval groups): the selectors hand out copies.
POLICY_LISTS: tuple[str, ...] = tuple(
    name for name in POLICY_FIELDS if getattr(Policy._meta.get_field(name), "default", None) is list
)
