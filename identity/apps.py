from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Who you are: sign-in, tokens, keys, sessions, and the gate."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Access identity"

    def ready(self) -> None:
        from identity import (
            accounts,  # noqa: F401  (revokes the sign-ins of users who lose their account)
            checks,  # noqa: F401  (registers the system checks)
        )
