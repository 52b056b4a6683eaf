from django.apps import AppConfig


class CommonConfig(AppConfig):
    """What both sides stand on: the configuration version, secrets, and the REST API's kit."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "common"
    verbose_name = "Access API"
