"""make backup / make restore: a backup taken, data changed, restore brings the backup's state back."""

import io

import pytest
from django.core.management import call_command

from ports.models import Agency, AuditEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_backup_then_restore_round_trip(make_member, tmp_path):
    make_member("before.backup", "beanr-customs", "analyst")
    out = io.StringIO()
    call_command("backup_db", "--dir", str(tmp_path), stdout=out)
    path = out.getvalue().strip()
    agencies, entries = Agency.objects.count(), AuditEntry.objects.count()

    make_member("after.backup", "nlrtm-customs", "analyst")
    assert Agency.objects.count() == agencies + 1

    call_command("restore_db", path, stdout=io.StringIO())
    assert Agency.objects.count() == agencies
    assert AuditEntry.objects.count() == entries
    err = io.StringIO()
    call_command("audit_verify", stdout=io.StringIO(), stderr=err)
