"""The configuration version and API tokens, moved here from `policies` and `identity`.

Their tables already exist (the apps they came from rename them), so this only takes over the
models' state, and moves their content types, so that permissions already granted on them
(`view_apitoken`, ...) and admin history follow the models instead of being orphaned.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = [("policies", "configversion"), ("identity", "apitoken")]


def _move_content_types(apps, *, to_common):
    content_type = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        source, target = ("common", app_label) if not to_common else (app_label, "common")
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types(apps, schema_editor):
    _move_content_types(apps, to_common=True)


def move_content_types_back(apps, schema_editor):
    _move_content_types(apps, to_common=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("identity", "0003_move_apitoken_to_common"),
        ("policies", "0003_move_configversion_to_common"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ConfigVersion",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("version", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "verbose_name": "configuration version",
                    },
                ),
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "name",
                            models.CharField(
                                help_text="What the token is for, e.g. ci-deploy.", max_length=200
                            ),
                        ),
                        ("key_id", models.CharField(editable=False, max_length=32, unique=True)),
                        ("secret_hash", models.CharField(editable=False, max_length=200)),
                        (
                            "read_only",
                            models.BooleanField(
                                default=True,
                                help_text="Only GET requests; leave on unless the token must change things.",
                            ),
                        ),
                        (
                            "expires_at",
                            models.DateTimeField(
                                blank=True,
                                help_text="Empty means the token never expires.",
                                null=True,
                            ),
                        ),
                        (
                            "last_used_at",
                            models.DateTimeField(blank=True, editable=False, null=True),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "user",
                            models.ForeignKey(
                                help_text="The token acts with this user's permissions.",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_tokens",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API token",
                        "ordering": ["name"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
