"""API tokens now belong to the `common` app: the table is renamed, its rows are kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0002_apitoken"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="ApiToken", table="common_apitoken"),
            ],
            state_operations=[
                migrations.DeleteModel(name="ApiToken"),
            ],
        ),
    ]
