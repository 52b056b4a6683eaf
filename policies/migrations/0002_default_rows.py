"""Rows every installation starts with: the configuration version and one identity provider per type."""

from django.db import migrations

DEFAULT_IDENTITY_PROVIDERS = [("One-time PIN", "onetimepin"), ("Password", "password")]


def create_default_rows(apps, schema_editor):
    ConfigVersion = apps.get_model("policies", "ConfigVersion")
    IdentityProvider = apps.get_model("policies", "IdentityProvider")
    ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 0})
    for name, type_ in DEFAULT_IDENTITY_PROVIDERS:
        IdentityProvider.objects.get_or_create(name=name, defaults={"type": type_})


def remove_default_rows(apps, schema_editor):
    IdentityProvider = apps.get_model("policies", "IdentityProvider")
    IdentityProvider.objects.filter(
        name__in=[name for name, _ in DEFAULT_IDENTITY_PROVIDERS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_default_rows, remove_default_rows),
    ]
