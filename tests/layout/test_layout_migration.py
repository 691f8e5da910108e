"""The house plan moved models between apps: a database made at the previous layout migrates with nothing lost.

The fixture is the demo alliance seeded by the previous layout's code (`tests/fixtures/make_layout_v1_fixture.py`
made it, with one alert tampered outside the application), and the manifest beside it is what that code saw:
every table's row count and every signed object's `signature_status`. Migrating it to the new layout must keep
every row and every status, and guardian's content types must follow the models.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROOT = FIXTURES.parent.parent

READ_BACK = r"""
import json, sys
import django
django.setup()
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from scans import documents as scan_documents
from scans.models import InspectionOutcome, Scan
from scans.services.outcomes import outcome_signature_status
from sharing import documents
from sharing.models import Alert, AlertVersion, Practice

statuses = {}
for o in Alert.objects.select_related("key", "agency").prefetch_related("grants"):
    statuses[f"alert:{o.pk}"] = documents.signature_status(o, typ=documents.ALERT_TYP)
for o in AlertVersion.objects.select_related("key", "agency"):
    statuses[f"alertversion:{o.alert_id}:{o.version}"] = documents.signature_status(o, typ=documents.ALERT_TYP)
for o in Practice.objects.select_related("key", "agency").prefetch_related("grants"):
    statuses[f"practice:{o.pk}"] = documents.signature_status(o, typ=documents.PRACTICE_TYP)
for o in Scan.objects.select_related("key", "node"):
    statuses[f"scan:{o.pk}"] = scan_documents.signature_status(o)
for o in InspectionOutcome.objects.select_related("key", "agency"):
    statuses[f"outcome:{o.pk}"] = outcome_signature_status(o)
counts = {}
with connection.cursor() as c:
    for t in sorted(connection.introspection.table_names()):
        if t.startswith("sqlite_") or t == "django_migrations":
            continue
        c.execute(f'SELECT COUNT(*) FROM "{t}"')
        counts[t] = c.fetchone()[0]
labels = sorted(f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.filter(model__in=["scan", "delivery", "correlation", "onesidedhit"]))
grants = sorted(set(Scan.objects.filter(group_grants__isnull=False).values_list("group_grants__permission__content_type__app_label", flat=True)))
json.dump({"statuses": {k: str(v) for k, v in statuses.items()}, "tables": counts, "labels": labels, "grant_apps": grants}, sys.stdout)
"""


def _env(db: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_SETTINGS_MODULE="alliance.settings.test",
        REDIS_URL="redis://127.0.0.1:1/0",
        ALLIANCE_KEK="layout-fixture-kek",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture
def old_layout_db(tmp_path) -> Path:
    db = tmp_path / "layout.sqlite3"
    with gzip.open(FIXTURES / "layout_v1_demo.sqlite3.gz", "rb") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return db


def test_a_previous_layout_database_migrates_with_every_row_and_signature_status_unchanged(old_layout_db):
    before = json.loads((FIXTURES / "layout_v1_demo.json").read_text())
    env = _env(old_layout_db)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "scans.0001_move_from_sharing" in migrate.stdout
    read = subprocess.run([sys.executable, "-c", READ_BACK], cwd=ROOT, env=env, capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    after = json.loads(read.stdout)

    assert after["statuses"] == before["statuses"]
    assert "invalid" in after["statuses"].values()  # the tampered alert is still caught
    # Every table of the previous layout keeps every row. Models added since (new tables, and their content types
    # and permissions) only add: a new table starts empty, the content types and permissions only grow.
    grows = {"django_content_type", "auth_permission"}
    kept = {t: n for t, n in after["tables"].items() if t in before["tables"] and t not in grows}
    assert kept == {t: n for t, n in before["tables"].items() if t not in grows}
    assert all(after["tables"][t] >= before["tables"][t] for t in grows)
    # The TAXII feed's tables are derived: its data migration announces (and numbers) what already existed.
    derived = {"interop_feedentry", "interop_feedhead"}
    assert all(n == 0 for t, n in after["tables"].items() if t not in before["tables"] and t not in derived)
    assert after["tables"].get("interop_feedentry", 0) > 0
    assert after["labels"] == ["correlation.correlation", "correlation.onesidedhit", "scans.delivery", "scans.scan"]
    assert after["grant_apps"] == ["scans"]  # guardian's grants point at the moved content type


def test_the_moved_models_keep_their_tables():
    from correlation.models import Correlation, OneSidedHit
    from scans.models import Delivery, InspectionOutcome, NodeCounter, Scan, ScanOutbox, Subscription

    for model in (Scan, ScanOutbox, NodeCounter, InspectionOutcome, Delivery, Subscription, Correlation, OneSidedHit):
        assert model._meta.db_table == f"sharing_{model._meta.model_name}"
