"""What both apps store: the configuration version every process watches, and API tokens."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class ConfigVersion(models.Model):
    """One row per in-memory state whose `version` every process watches (common.versioning):
    1 the policy snapshot, 2 the signing keys, 3 the revocations."""

    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration version"

    def __str__(self) -> str:
        return f"configuration version {self.version}"


class ApiToken(models.Model):
    """A bearer token acting for one Django user, with that user's model permissions.

    The token is `apt_<key_id>_<secret>`: `key_id` finds the row, and only a hash of the
    secret is stored (shown once, when the token is created). A read-only token can only read,
    whatever its user may do.
    """

    name = models.CharField(max_length=200, help_text="What the token is for, e.g. ci-deploy.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The token acts with this user's permissions.",
    )
    key_id = models.CharField(max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=200, editable=False)
    read_only = models.BooleanField(
        default=True, help_text="Only GET requests; leave on unless the token must change things."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty means the token never expires."
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A new token that is already expired is a mistake; an old one may expire while stored.
        if self._state.adding and self.is_expired():
            raise ValidationError({"expires_at": "must be in the future"})

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the token has passed its expiry (never, without one)."""
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class AuditEntry(models.Model):
    """One change to the configuration or to sign-ins, as `common.audit.record_change` stores it.

    `before` and `after` are the object's public fields (never a secret); `changes` is the diff,
    `{field: [before, after]}`. The actor is kept as text (and the user's id, without a foreign
    key), so the entry outlives the user and the object it names.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        ROTATE = "rotate", "Rotated"
        REFRESH = "refresh", "Refreshed"
        REVOKE = "revoke", "Revoked"
        RETIRE = "retire", "Retired"
        LIFT = "lift", "Lifted"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    channel = models.CharField(max_length=20, db_index=True)
    actor = models.CharField(max_length=150, blank=True, db_index=True)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_name = models.CharField(max_length=350, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        who = self.actor or "(nobody signed in)"
        return f"{self.get_action_display()} {self.object_type} {self.object_name} by {who}"
