"""GIN indexes for full-text search on PostgreSQL; SQLite searches with icontains and needs none."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE INDEX IF NOT EXISTS alert_search_gin ON sharing_alert USING gin (search_vector)")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS practice_search_gin ON sharing_practice USING gin (search_vector)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS alert_search_gin")
    schema_editor.execute("DROP INDEX IF EXISTS practice_search_gin")


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_alerts_practices")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
