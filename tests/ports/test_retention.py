"""Retention: what is past its period is purged with everything attached, audited per kind; rollups and the
audit log stay, and old audit entries can be archived behind a signed checkpoint that the verifier checks."""

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from correlation.models import Correlation
from ports.models import AuditCheckpoint, AuditEntry, RetentionState
from scans.models import Delivery, InspectionOutcome, Scan, ScanGroupObjectPermission, ScanOutbox
from scans.services.relay import relay_batch
from sharing.models import Alert, AlertGrant, AlertIdentifier, AlertVersion, Feedback
from tests.scans.helpers import Node
from tests.sharing.conftest import alert_fields, container
from trends.services import rollups
from webhooks.models import Endpoint, WebhookDelivery

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-xr-01", make_agency("beanr-customs"))


@pytest.fixture(autouse=True)
def policy(settings):
    settings.RETENTION_DAYS_ALERTS = 5 * 365
    settings.RETENTION_DAYS_FEEDBACK = 5 * 365
    settings.RETENTION_DAYS_SCANS = 3 * 365
    settings.RETENTION_DAYS_DELIVERIES = 365
    settings.RETENTION_DAYS_NOTIFICATIONS = 365
    return settings


def _run(name: str, *args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue() + err.getvalue()
    return 0, out.getvalue()


def _publish(api_as, user, **fields) -> dict:
    response = api_as(user).post("/api/v1/alerts/", alert_fields(**fields), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _age_alert(alert_id, by: timedelta) -> None:
    then = timezone.now() - by
    Alert.objects.filter(pk=alert_id).update(created_at=then, first_created_at=then)
    AlertVersion.objects.filter(alert_id=alert_id).update(created_at=then)
    Feedback.objects.filter(alert_id=alert_id).update(created_at=then)


def _push(node: Node, **fields) -> str:
    response = node.push(**fields)
    assert response.status_code in (200, 201), response.json()
    return response.json()["id"]


def _purges() -> dict[str, dict]:
    return {e.object_id: e.data for e in AuditEntry.objects.filter(action="retention.purged")}


@pytest.fixture
def world(cast, api_as, antwerp_node, make_agency):
    """An old Hamburg alert with feedback, matched by an old Antwerp scan with an outcome, deliveries, grants and a
    webhook attempt; a young alert and scan; a middle-aged scan whose delivery alone is past its period."""
    users = cast["users"]
    box = container()
    old_alert = _publish(api_as, users["hamburg_customs"], containers=[box], port="DEHAM")
    young_alert = _publish(api_as, users["hamburg_customs"], title="Young alert", port="DEHAM")
    feedback = api_as(users["rotterdam_customs"]).post(
        f"/api/v1/alerts/{old_alert['id']}/feedback/", {"outcome": "checked_negative"}, format="json"
    )
    assert feedback.status_code == 201, feedback.json()
    young_feedback = api_as(users["rotterdam_customs"]).post(
        f"/api/v1/alerts/{young_alert['id']}/feedback/", {"outcome": "not_applicable"}, format="json"
    )
    assert young_feedback.status_code == 201, young_feedback.json()

    old_scan = _push(antwerp_node, container=box, verdict="suspect", next_port="NLRTM")
    young_scan = _push(antwerp_node, verdict="suspect", next_port="NLRTM")
    middle_scan = _push(antwerp_node, verdict="clear")
    relay_batch(scan_ids=[old_scan, young_scan, middle_scan])
    outcome = api_as(users["author"]).post(f"/api/v1/scans/{old_scan}/outcome/", {"result": "negative"}, format="json")
    assert outcome.status_code == 201, outcome.json()
    endpoint = Endpoint.objects.create(agency=make_agency("nlrtm-customs"), url="https://hooks.example.org/in")
    for delivery in Delivery.objects.filter(scan_id__in=[old_scan, young_scan], agency__slug="nlrtm-customs"):
        WebhookDelivery.objects.create(endpoint=endpoint, delivery=delivery, next_attempt_at=timezone.now())
    assert Correlation.objects.filter(scan_a_id=old_scan, alert_b_id=old_alert["id"]).exists()

    _age_alert(old_alert["id"], 6 * YEAR)
    now = timezone.now()
    Scan.objects.filter(pk=old_scan).update(scanned_at=now - 4 * YEAR)
    Delivery.objects.filter(scan_id=old_scan).update(created_at=now - 4 * YEAR)
    Scan.objects.filter(pk=middle_scan).update(scanned_at=now - 2 * YEAR)
    Delivery.objects.filter(scan_id=middle_scan).update(created_at=now - 2 * YEAR)
    return {
        "old_alert": old_alert["id"],
        "young_alert": young_alert["id"],
        "old_scan": old_scan,
        "young_scan": young_scan,
        "middle_scan": middle_scan,
    }


def test_purge_removes_old_objects_with_everything_attached_and_keeps_young_ones(world, cast, api_as):
    reader = api_as(cast["users"]["rotterdam_customs"])
    old_deliveries = Delivery.objects.filter(scan_id=world["old_scan"]).count()
    middle_deliveries = Delivery.objects.filter(scan_id=world["middle_scan"]).count()
    assert old_deliveries
    assert middle_deliveries

    code, out = _run("purge_expired")
    assert code == 0
    assert "alerts: purged 1 " in out
    assert "scans: purged 1 " in out
    assert f"deliveries: purged {middle_deliveries} " in out
    assert "feedback: purged 0 " in out

    # The old alert and all its rows are gone; the young one is whole.
    assert not Alert.objects.filter(pk=world["old_alert"]).exists()
    for model in (AlertVersion, AlertGrant, AlertIdentifier, Feedback):
        assert not model.objects.filter(alert_id=world["old_alert"]).exists()
    assert AlertVersion.objects.filter(alert_id=world["young_alert"]).count() == 1
    assert Feedback.objects.filter(alert_id=world["young_alert"]).count() == 1
    # The old scan went with its outcome, outbox row, read grants, deliveries, webhook attempts and notices.
    assert not Scan.objects.filter(pk=world["old_scan"]).exists()
    assert not InspectionOutcome.objects.filter(scan_id=world["old_scan"]).exists()
    assert not ScanOutbox.objects.filter(scan_id=world["old_scan"]).exists()
    assert not ScanGroupObjectPermission.objects.filter(content_object_id=world["old_scan"]).exists()
    assert not Delivery.objects.filter(scan_id=world["old_scan"]).exists()
    assert not Correlation.objects.exists()
    assert WebhookDelivery.objects.count() == 1  # the young scan's
    # The middle-aged scan stays (and stays readable to those granted) but its old inbox rows are gone.
    assert Scan.objects.filter(pk=world["middle_scan"]).exists()
    assert not Delivery.objects.filter(scan_id=world["middle_scan"]).exists()
    assert ScanGroupObjectPermission.objects.filter(content_object_id=world["middle_scan"]).exists()
    assert Delivery.objects.filter(scan_id=world["young_scan"]).exists()
    # Readers no longer find what was purged; the young alert is still there for them.
    assert reader.get(f"/api/v1/alerts/{world['old_alert']}/").status_code == 404
    assert reader.get(f"/api/v1/alerts/{world['young_alert']}/").status_code == 200
    listed = {a["id"] for a in reader.get("/api/v1/alerts/").json()["results"]}
    assert world["old_alert"] not in listed
    assert world["young_alert"] in listed
    antwerp = api_as(cast["users"]["author"])
    assert antwerp.get(f"/api/v1/scans/{world['old_scan']}/").status_code == 404
    assert antwerp.get(f"/api/v1/scans/{world['young_scan']}/").status_code == 200

    # One audit entry per kind, with the cut-off and the counts; the chain still verifies.
    purges = _purges()
    assert set(purges) == {"alerts", "feedback", "scans", "deliveries", "notifications"}
    assert purges["alerts"]["purged"] == 1
    assert purges["alerts"]["retention_days"] == 5 * 365
    assert purges["alerts"]["along"]["sharing.Feedback"] == 1
    assert purges["alerts"]["along"]["sharing.AlertVersion"] == 1
    assert purges["scans"]["purged"] == 1
    assert purges["scans"]["along"]["scans.Delivery"] == old_deliveries
    assert purges["scans"]["along"]["scans.InspectionOutcome"] == 1
    assert purges["scans"]["along"]["webhooks.WebhookDelivery"] == 1
    assert purges["deliveries"]["purged"] == middle_deliveries
    assert purges["feedback"]["purged"] == 0
    cutoff = datetime.fromisoformat(purges["scans"]["cutoff"])
    assert abs(cutoff - (timezone.now() - 3 * YEAR)) < timedelta(minutes=5)
    assert all(e.actor == "system" for e in AuditEntry.objects.filter(action="retention.purged"))
    assert _run("audit_verify")[0] == 0

    # Idempotent: a second run finds nothing, and says so in the log too.
    before = AuditEntry.objects.filter(action="retention.purged").count()
    code, out = _run("purge_expired")
    assert code == 0
    assert "alerts: purged 0 " in out
    assert "scans: purged 0 " in out
    assert "deliveries: purged 0 " in out
    entries = AuditEntry.objects.filter(action="retention.purged").order_by("seq")[before:]
    assert [e.data["purged"] for e in entries] == [0, 0, 0, 0, 0]
    assert _run("audit_verify")[0] == 0


def test_feedback_has_its_own_period(world, policy):
    policy.RETENTION_DAYS_ALERTS = 0
    policy.RETENTION_DAYS_FEEDBACK = 365
    Feedback.objects.filter(alert_id=world["young_alert"]).update(created_at=timezone.now() - 2 * YEAR)
    _run("purge_expired")
    # Alerts are kept forever; the feedback on both alerts is old enough and goes alone.
    assert Alert.objects.filter(pk=world["old_alert"]).exists()
    assert not Feedback.objects.exists()
    assert _purges()["feedback"]["purged"] == 2
    assert _purges()["alerts"]["purged"] == 0


def test_zero_keeps_a_kind_forever(world, policy):
    for kind in ("ALERTS", "FEEDBACK", "SCANS", "DELIVERIES", "NOTIFICATIONS"):
        setattr(policy, f"RETENTION_DAYS_{kind}", 0)
    counts = (Alert.objects.count(), Feedback.objects.count(), Scan.objects.count(), Delivery.objects.count())
    code, out = _run("purge_expired")
    assert code == 0
    assert out.count("kept forever") == 5
    assert (Alert.objects.count(), Feedback.objects.count(), Scan.objects.count(), Delivery.objects.count()) == counts
    purges = _purges()
    assert all(p["cutoff"] is None and p["purged"] == 0 and p["retention_days"] == 0 for p in purges.values())
    assert not RetentionState.objects.exists()


def test_a_still_valid_alert_is_kept_however_old_its_last_version(world):
    Alert.objects.filter(pk=world["old_alert"]).update(valid_until=timezone.now() + YEAR)
    _run("purge_expired")
    assert Alert.objects.filter(pk=world["old_alert"]).exists()


def test_dry_run_counts_and_deletes_nothing(world):
    counts = (Alert.objects.count(), Feedback.objects.count(), Scan.objects.count(), Delivery.objects.count())
    middle_deliveries = Delivery.objects.filter(scan_id=world["middle_scan"]).count()
    entries = AuditEntry.objects.count()
    code, out = _run("purge_expired", "--dry-run")
    assert code == 0
    assert "alerts: would purge 1 " in out
    assert "scans: would purge 1 " in out
    assert "feedback: would purge 0 " in out
    assert f"deliveries: would purge {middle_deliveries} " in out
    assert "nothing was deleted" in out
    assert (Alert.objects.count(), Feedback.objects.count(), Scan.objects.count(), Delivery.objects.count()) == counts
    assert AuditEntry.objects.count() == entries
    assert not RetentionState.objects.exists()


def test_small_batches_purge_everything(antwerp_node, cast):
    ids = [_push(antwerp_node, verdict="suspect", next_port="NLRTM") for _ in range(7)]
    relay_batch(scan_ids=ids)
    Scan.objects.filter(pk__in=ids).update(scanned_at=timezone.now() - 4 * YEAR)
    code, out = _run("purge_expired", "--batch-size", "2")
    assert code == 0
    assert "scans: purged 7 " in out
    assert not Scan.objects.exists()
    assert not Delivery.objects.exists()


def test_rollups_survive_the_purge_and_rebuild_leaves_purged_days_alone(antwerp_node, cast):
    now = timezone.now()
    old_days = [now - 4 * YEAR - timedelta(days=d) for d in (0, 1, 2)]
    plan = [(at, "suspect") for at in old_days] + [(old_days[0], "clear"), (now - timedelta(days=1), "positive")]
    ids = [
        _push(antwerp_node, scanned_at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), verdict=verdict)
        for at, verdict in plan
    ]
    relay_batch(scan_ids=ids)
    live = rollups.snapshot()
    assert sum(s for s, _, _ in live.values()) == 5

    _run("purge_expired")
    assert Scan.objects.count() == 1
    assert rollups.snapshot() == live  # rollups are never deleted
    # A recount from what is left would lose the purged days: rebuild must leave them as they are.
    assert sum(c[0] for c in rollups.recount().values()) == 1
    code, out = _run("rebuild_rollups")
    assert code == 0
    assert "kept the rollups before" in out
    assert rollups.snapshot() == live
    code, out = _run("rebuild_rollups", "--since", (now - 5 * YEAR).date().isoformat())
    assert code == 0
    assert rollups.snapshot() == live
    watermark = RetentionState.objects.get(kind="scans").purged_before
    assert abs(watermark - (now - 3 * YEAR)) < timedelta(minutes=5)


def _archive(tmp_path, before: date | None = None) -> tuple[int, str, object]:
    out = tmp_path / "audit.jsonl"
    before = before or (timezone.now() + timedelta(days=1)).date()
    code, text = _run("audit_archive", "--before", before.isoformat(), "--out", str(out))
    return code, text, out


def _events(n: int) -> None:
    from ports import audit

    for i in range(n):
        audit.record("tester", "test.event", None, {"i": i, "note": "é"}, object_type="test", object_id=str(i))


def test_archive_ends_at_a_signed_checkpoint_and_verifies(ports, tmp_path):
    _events(5)
    code, text, out = _archive(tmp_path)
    assert code == 0, text
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["type"] == "audit_archive"
    assert lines[-1]["type"] == "checkpoint"
    entries = lines[1:-1]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert lines[-1]["seq"] == entries[-1]["seq"]
    assert lines[-1]["hash"] == entries[-1]["hash"]
    assert AuditCheckpoint.objects.filter(seq=lines[-1]["seq"]).exists()
    # Entries stay in the database; the archive is recorded; everything verifies.
    assert AuditEntry.objects.filter(seq__lte=entries[-1]["seq"]).count() == len(entries)
    assert AuditEntry.objects.filter(action="audit.archived").count() == 1
    code, text = _run("audit_verify", "--archive", str(out))
    assert code == 0
    assert f"{len(entries)} entries" in text
    assert _run("audit_verify")[0] == 0


def test_archive_reuses_an_existing_checkpoint(ports, tmp_path):
    from ports import audit

    _events(3)
    checkpoint = audit.checkpoint_create()
    code, _, out = _archive(tmp_path)
    assert code == 0
    assert AuditCheckpoint.objects.count() == 1
    assert json.loads(out.read_text().splitlines()[-1])["jws"] == checkpoint.jws


def test_archive_before_any_entry_is_refused(ports, tmp_path):
    _events(1)
    with pytest.raises(CommandError, match="no audit entry before"):
        call_command("audit_archive", "--before", "2000-01-01", "--out", str(tmp_path / "x.jsonl"))


def _rewrite(path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_tampered_archives_fail(ports, tmp_path):
    from ports import audit

    _events(4)
    code, _, out = _archive(tmp_path)
    assert code == 0
    original = [json.loads(line) for line in out.read_text().splitlines()]

    def verdict(lines) -> tuple[int, str]:
        _rewrite(out, lines)
        return _run("audit_verify", "--archive", str(out))

    altered = json.loads(json.dumps(original))
    altered[2]["data"]["i"] = 99
    code, text = verdict(altered)
    assert code == 1
    assert "altered" in text

    # Rewriting every hash after the change makes a consistent chain, but not the signed one.
    rehashed = json.loads(json.dumps(original))
    rehashed[2]["data"]["i"] = 99
    prev = rehashed[1]["hash"]
    for line in rehashed[2:-1]:
        line["prev_hash"] = prev
        line["hash"] = prev = audit.entry_hash(
            prev,
            line["seq"],
            line["at"],
            line["actor"],
            line["action"],
            line["object_type"],
            line["object_id"],
            line["data"],
        )
    code, text = verdict(rehashed)
    assert code == 1
    assert "signed checkpoint" in text

    code, text = verdict(original[:-2] + original[-1:])  # the last entry dropped
    assert code == 1
    assert "signed checkpoint" in text
    code, text = verdict(original[:3] + original[4:])  # an entry in the middle dropped
    assert code == 1
    assert "missing" in text
    code, text = verdict(original[:-1])  # no checkpoint
    assert code == 1
    assert "checkpoint" in text
    forged = json.loads(json.dumps(original))
    header, payload, signature = forged[-1]["jws"].split(".")
    forged[-1]["jws"] = f"{header}.{payload}.{signature[:-4]}AAAA"
    code, text = verdict(forged)
    assert code == 1
    assert "signature" in text

    code, text = verdict(original)
    assert code == 0


def test_the_beat_task_is_registered_and_safe_twice(antwerp_node, cast, settings):
    from alliance.celery import app
    from retention.tasks import purge_expired

    assert settings.CELERY_BEAT_SCHEDULE["purge-expired"]["task"] == "sharing.purge_expired"
    assert purge_expired.name in app.tasks
    assert purge_expired.name == "sharing.purge_expired"
    old = _push(antwerp_node, verdict="clear")
    Scan.objects.filter(pk=old).update(scanned_at=timezone.now() - 4 * YEAR)
    young = _push(antwerp_node, verdict="clear")
    nothing = {"alerts": 0, "feedback": 0, "scans": 0, "deliveries": 0, "notifications": 0}
    assert purge_expired.apply().get() == {**nothing, "scans": 1}
    assert purge_expired.apply().get() == nothing
    assert str(Scan.objects.get().pk) == young


def test_old_notices_go_and_young_ones_stay(cast, policy):
    from notifications.models import Notification
    from notifications.services import notify

    author = cast["memberships"]["author"]
    notify(kind="correlation", subject="Container MSCU1234566: old match", memberships=[author.id])
    Notification.objects.update(created_at=timezone.now() - 2 * YEAR)
    notify(kind="correlation", subject="Container CSQU3054383: new match", memberships=[author.id])
    code, out = _run("purge_expired")
    assert code == 0
    assert "notifications: purged 1 " in out
    assert list(Notification.objects.values_list("subject", flat=True)) == ["Container CSQU3054383: new match"]
    policy.RETENTION_DAYS_NOTIFICATIONS = 0
    Notification.objects.update(created_at=timezone.now() - 10 * YEAR)
    assert "notifications: kept forever" in _run("purge_expired")[1]
    assert Notification.objects.count() == 1
