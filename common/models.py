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
