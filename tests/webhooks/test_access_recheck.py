"""Access is checked again on every send and replay: a scan the agency may no longer read never goes out."""

from datetime import timedelta

from django.utils import timezone

from ports.models import AuditEntry
from scans.models import Scan, ScanGroupObjectPermission
from webhooks.models import State, WebhookDelivery
from webhooks.tasks import send_attempt

from .conftest import attempts_of, push_and_relay


def _hamburg_endpoint(make_member, verified_session, receiver):
    admin = verified_session(make_member("hamburg.admin", "deham-customs", "admin").user)
    assert admin.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json").status_code == 201
    return admin


def _revoke_hamburg_read(scan_id: str) -> int:
    deleted, _ = ScanGroupObjectPermission.objects.filter(
        content_object_id=scan_id, group__agency__slug="deham-customs"
    ).delete()
    return deleted


def test_a_revoked_grant_means_nothing_is_sent(
    cast, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, make_member, verified_session
):
    _hamburg_endpoint(make_member, verified_session, receiver)
    # Suspect at Antwerp, next port Hamburg: relayed to Hamburg customs through a read grant.
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks, verdict="suspect", next_port="DEHAM")
    [attempt] = attempts_of(scan["id"])
    assert attempt.delivery.agency.slug == "deham-customs"
    assert _revoke_hamburg_read(scan["id"]) == 1
    assert send_attempt(str(attempt.pk)) == State.DROPPED
    attempt.refresh_from_db()
    assert attempt.last_error == "the agency may no longer read this scan"
    assert receiver.received == []


def test_a_dead_letter_whose_read_was_revoked_is_not_replayed(
    cast, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, make_member, verified_session
):
    admin = _hamburg_endpoint(make_member, verified_session, receiver)
    receiver.fail_first = 10**6
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks, verdict="positive", next_port="DEHAM")
    [attempt] = attempts_of(scan["id"])
    assert send_attempt(str(attempt.pk)) == State.FAILED
    WebhookDelivery.objects.filter(pk=attempt.pk).update(
        first_attempt_at=timezone.now() - timedelta(hours=25), next_attempt_at=timezone.now()
    )
    assert send_attempt(str(attempt.pk)) == State.DEAD
    sent_before = len(receiver.received)
    _revoke_hamburg_read(scan["id"])
    receiver.fail_first = 0
    queued.clear()
    response = admin.post(f"/api/v1/webhooks/dead-letters/{attempt.pk}/replay/")
    assert response.status_code == 400
    assert "may no longer read" in response.json()["errors"]["non_field_errors"][0]
    assert WebhookDelivery.objects.get(pk=attempt.pk).state == State.DROPPED
    assert AuditEntry.objects.filter(action="webhook.replay_refused", object_id=str(attempt.pk)).exists()
    assert queued == []
    assert len(receiver.received) == sent_before


def test_a_tampered_scan_is_not_sent(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    admin_client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks, verdict="suspect")
    [attempt] = attempts_of(scan["id"])
    # Changed outside the application: the stored fields no longer match the node's signature.
    Scan.objects.filter(pk=scan["id"]).update(verdict="clear")
    assert send_attempt(str(attempt.pk)) == State.DROPPED
    attempt.refresh_from_db()
    assert attempt.last_error == "the scan failed its integrity check"
    assert receiver.received == []


def test_only_the_receiving_agencys_endpoints_get_the_scan(
    cast,
    admin_client,
    receiver,
    antwerp_node,
    queued,
    django_capture_on_commit_callbacks,
    make_member,
    verified_session,
):
    """A clear scan at Antwerp goes to Antwerp's endpoints only; Hamburg's endpoint never hears of it."""
    _hamburg_endpoint(make_member, verified_session, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks, verdict="clear", next_port="DEHAM")
    assert attempts_of(scan["id"]) == []
    assert queued == []
