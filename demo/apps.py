from django.apps import AppConfig


class DemoConfig(AppConfig):
    """A page and an echo endpoint to see what a protected view receives."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
    verbose_name = "Demo"
