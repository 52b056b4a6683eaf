"""Who you are, at rest: signing keys, sessions, revocations, one-time PINs, codes, second
factors, events.

Nothing here is read on a gated request: keys and revocations are compiled into memory by
`identity.keys` and `identity.sessions` (VersionedState), so the hot path makes no SQL query.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class SigningKey(models.Model):
    """An RSA key pair that signs Access tokens.

    The private half is stored encrypted (Fernet, key derived from SECRET_KEY) and never leaves
    the server. A key signs while it is current; once retired it still verifies until
    `expires_at` (retired_at + 7 days), so tokens issued just before a rotation keep working.
    """

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=16, default="RS256", editable=False)
    private_key = models.TextField(help_text="PEM private key, encrypted at rest.")
    public_jwk = models.JSONField()
    certificate_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField()
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="When the key stopped signing (null = current key)."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this moment the key no longer verifies."
    )

    class Meta:
        ordering = ["-activated_at"]
        constraints = [
            # At most one key signs at any time: two processes rotating at once cannot both win.
            models.UniqueConstraint(
                "algorithm",
                condition=models.Q(retired_at__isnull=True),
                name="identity_one_current_signing_key",
            ),
        ]

    def __str__(self) -> str:
        return self.kid


class AccessSession(models.Model):
    """One sign-in: the org (global) session, or an application session or service-token use."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    email = models.CharField(max_length=254, blank=True)
    application = models.ForeignKey(
        "policies.Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Empty for the org (global) session.",
    )
    identity_nonce = models.CharField(max_length=64)
    login_method = models.CharField(
        max_length=200, help_text='Identity provider name, or "service_token".'
    )
    common_name = models.CharField(
        max_length=200, blank=True, help_text="Service token client id, for service tokens."
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            models.Index(fields=["email"], name="identity_session_email"),
            models.Index(fields=["identity_nonce"], name="identity_session_nonce"),
        ]

    def __str__(self) -> str:
        return f"{self.email or self.common_name} ({self.login_method})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class RevocationCutoff(models.Model):
    """Tokens issued before `not_before` are refused (for one person, one application, or all)."""

    email = models.CharField(max_length=254, blank=True, help_text="Empty = everyone.")
    application = models.ForeignKey(
        "policies.Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Empty = all applications.",
    )
    not_before = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.email or "everyone"
        where = str(self.application) if self.application_id else "all applications"
        return f"{who} on {where} before {self.not_before:%Y-%m-%d %H:%M:%S}"


class OneTimePin(models.Model):
    """A 6-digit code emailed to a person, stored hashed, bound to the browser flow that asked."""

    email = models.CharField(max_length=254)
    application = models.ForeignKey(
        "policies.Application", null=True, blank=True, on_delete=models.CASCADE
    )
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    flow_id = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "one-time PIN"
        verbose_name_plural = "one-time PINs"

    def __str__(self) -> str:
        return f"PIN for {self.email}"


class AuthorizationCode(models.Model):
    """A single-use code (60 s) exchanged at the authorized hop for the application cookie."""

    code_hash = models.CharField(max_length=200, unique=True)
    application = models.ForeignKey("policies.Application", on_delete=models.CASCADE)
    app_host = models.CharField(
        max_length=262,
        blank=True,
        help_text="The canonical host[:port] the code was issued for; redeemed only there.",
    )
    state_hash = models.CharField(
        max_length=64, help_text="SHA-256 hex of the CF_AppSession value."
    )
    email = models.CharField(max_length=254, blank=True)
    identity_nonce = models.CharField(max_length=64)
    login_method = models.CharField(max_length=200)
    claims = models.JSONField(default=dict, blank=True)
    session = models.ForeignKey(AccessSession, null=True, blank=True, on_delete=models.SET_NULL)
    redirect_url = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"code for {self.email} ({self.application_id})"


class PurposeJustification(models.Model):
    """Why a person entered an application: their answer to its policy's purpose prompt, once
    per org session and application (`identity.flows.purpose`)."""

    session = models.ForeignKey(
        AccessSession, on_delete=models.CASCADE, related_name="purpose_justifications"
    )
    application = models.ForeignKey("policies.Application", on_delete=models.CASCADE)
    policy_name = models.CharField(max_length=200, help_text="The policy that asked.")
    answer = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "application"], name="purpose_once_per_session_application"
            )
        ]

    def __str__(self) -> str:
        return f"purpose for {self.application_id} in session {self.session_id}"


class ProviderSignIn(models.Model):
    """One sign-in at an upstream identity provider, from the login page to the callback.

    The browser carries `state` there and back; only its hash is stored. The sign-in is bound
    to the browser that started it (`browser_hash`, of the login host's flow cookie) and to the
    validated flow it resumes (`flow`: the canonical application host, its AUD tag, the
    redirect URL and the `CF_AppSession` state), so nothing the provider's redirect carries
    besides `code` and `state` is trusted. Single use, ten minutes.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    provider_id = models.CharField(max_length=20)
    nonce = models.CharField(max_length=64)
    code_verifier = models.CharField(max_length=128)
    redirect_uri = models.CharField(max_length=300)
    flow = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "identity provider sign-in"

    def __str__(self) -> str:
        return f"sign-in through provider {self.provider_id}"


class SecondFactor(models.Model):
    """A second factor of one person: an authenticator app (TOTP) or a WebAuthn credential.

    Factors belong to the person's email address, lower case (`identity.factors`): PIN and
    OpenID Connect sign-ins have no Django user, and a password sign-in is its user's
    `identity_email`. Only a sign-in proving that same address can use or change them.
    `secret` is the TOTP secret encrypted at rest (`common.encryption`), or a credential's
    public key (COSE); neither is ever shown, in the admin or anywhere else.
    """

    class Kind(models.TextChoices):
        TOTP = "totp", "Authenticator app"
        WEBAUTHN = "webauthn", "Passkey or security key"

    email = models.CharField(max_length=254, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=64)
    secret = models.TextField(help_text="Encrypted TOTP secret, or a credential's public key.")
    credential_id = models.CharField(
        max_length=1400, blank=True, help_text="A WebAuthn credential's id (base64url)."
    )
    # RFC 8176 method a use of this factor proves: otp, hwk or swk.
    method = models.CharField(max_length=8)
    sign_count = models.PositiveBigIntegerField(default=0)
    # The last TOTP time step accepted: a code works once (RFC 6238 §5.2).
    last_step = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email", "created_at"]
        constraints = [
            models.UniqueConstraint(
                "credential_id",
                condition=~models.Q(credential_id=""),
                name="identity_unique_webauthn_credential",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name!r} of {self.email}"


class RecoveryCode(models.Model):
    """One of a person's ten single-use recovery codes, stored as an HMAC keyed by SECRET_KEY."""

    email = models.CharField(max_length=254, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email", "created_at"]

    def __str__(self) -> str:
        return f"recovery code of {self.email}"


class FactorChallenge(models.Model):
    """A WebAuthn challenge handed to one browser for one person: single use, five minutes."""

    challenge_hash = models.CharField(max_length=64, unique=True)
    email = models.CharField(max_length=254)
    purpose = models.CharField(max_length=16)  # "register" or "assert"
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} challenge for {self.email}"


class ApprovalRequest(models.Model):
    """A person asking to enter an application whose deciding policy wants approval
    (`identity.approvals`): their justification, the approval groups asked, and the outcome.

    Approved, it lets the person in until `granted_until`; the app tokens it earns name it in
    their `approval` claim. Refused, revoked or past its end, it lets nobody in.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        REVOKED = "revoked", "Revoked"
        LAPSED = "lapsed", "Lapsed"  # nobody decided before `expires_at`

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.CharField(max_length=254, db_index=True)
    application = models.ForeignKey("policies.Application", on_delete=models.CASCADE)
    policy_name = models.CharField(max_length=200)
    justification = models.TextField(max_length=1000)
    return_url = models.TextField(blank=True, help_text="The page the person was going to.")
    approval_groups = models.JSONField(
        default=list,
        blank=True,
        help_text="The deciding policy's approval groups when the person asked.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_duration = models.DurationField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="A request nobody decided by then lapses.")
    decided_at = models.DateTimeField(null=True, blank=True)
    granted_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["email", "application"], name="identity_approval_person"),
        ]
        constraints = [
            # One request waits per person and application: asking twice at once (a double
            # click) cannot email the approvers twice.
            models.UniqueConstraint(
                fields=["email", "application"],
                condition=models.Q(status="pending"),
                name="identity_one_open_approval_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} for {self.application} ({self.get_status_display()})"


class Approver(models.Model):
    """One approver asked to decide one request: their emailed link, stored as its SHA-256
    only, and once they have used it, their decision (a link decides once)."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REFUSE = "refuse", "Refuse"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="approvers")
    email = models.CharField(max_length=254)
    link_hash = models.CharField(max_length=64, blank=True, help_text="Empty until emailed.")
    link_expires_at = models.DateTimeField()
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    duration = models.DurationField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "email"]
        constraints = [
            models.UniqueConstraint(fields=["request", "email"], name="identity_one_approver"),
            models.UniqueConstraint(
                "link_hash", condition=~models.Q(link_hash=""), name="identity_unique_approval_link"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} on {self.request_id}"


class AuthEvent(models.Model):
    """An authentication event, written when it happens (never once per gated request)."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Sign-in"
        SIGN_IN_REFUSED = "sign_in_refused", "Sign-in refused"
        LOGOUT = "logout", "Logout"
        REVOCATION = "revocation", "Revocation"
        SERVICE_TOKEN = "service_token", "Service token use"
        KEY_ROTATION = "key_rotation", "Key rotation"
        PIN_SENT = "pin_sent", "PIN sent"
        LOCKOUT = "lockout", "Lock-out"
        FACTOR_ADDED = "factor_added", "Second factor added"
        FACTOR_REMOVED = "factor_removed", "Second factor removed"
        FACTORS_RESET = "factors_reset", "Second factors reset"
        STEP_UP = "step_up", "Second factor given"
        APPROVAL_REQUESTED = "approval_requested", "Approval requested"
        APPROVAL_APPROVED = "approval_approved", "Approval given"
        APPROVAL_REFUSED = "approval_refused", "Approval refused"
        APPROVAL_REVOKED = "approval_revoked", "Approval revoked"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    email = models.CharField(max_length=254, blank=True)
    application = models.ForeignKey(
        "policies.Application", null=True, blank=True, on_delete=models.SET_NULL
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "authentication event"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email}".strip()


class ActivityCount(models.Model):
    """Gate decisions counted in memory and added here in batches (`identity.activity`): how
    many requests in one 5-minute bucket had one value of one dimension (a decision, an
    application, a refused path, an origin, a refused client address). Never a row per request."""

    bucket = models.DateTimeField(db_index=True)
    dimension = models.CharField(max_length=20)
    value = models.CharField(max_length=300)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "dimension", "value"], name="activity_count_unique"
            )
        ]
        verbose_name = "activity count"

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H:%M} {self.dimension}={self.value}: {self.count}"
