"""Announce what existed before the feed: every alert and practice version, relayed scan and outcome, numbered."""

from django.db import migrations


def backfill(apps, schema_editor):
    from interop.services import backfill as run

    run(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [
        ("interop", "0001_feed"),
        ("sharing", "0007_scans_correlation_move_out"),
        ("scans", "0001_move_from_sharing"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
