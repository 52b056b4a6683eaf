"""The configuration version now belongs to the `common` app: the table is renamed, its row kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0002_default_rows"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="ConfigVersion", table="common_configversion"),
            ],
            state_operations=[
                migrations.DeleteModel(name="ConfigVersion"),
            ],
        ),
    ]
