from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """What is protected and who may pass."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"
    verbose_name = "Access policies"

    def ready(self) -> None:
        from policies import checks  # noqa: F401  (registers the system checks)
