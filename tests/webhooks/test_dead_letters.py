"""After 24 hours of failures an attempt is a dead letter: listed for the agency's admins only, replayable."""

from datetime import timedelta

from django.utils import timezone

from ports.models import AuditEntry
from webhooks.models import State, WebhookDelivery
from webhooks.tasks import send_attempt

from .conftest import attempts_of, push_and_relay


def _fail_for_a_day(attempt) -> None:
    """The attempt has failed before, and its first failure was 25 hours ago."""
    assert send_attempt(str(attempt.pk)) == State.FAILED
    WebhookDelivery.objects.filter(pk=attempt.pk).update(
        first_attempt_at=timezone.now() - timedelta(hours=25), next_attempt_at=timezone.now()
    )


def test_dead_after_24_hours_then_listed_and_replayed(
    cast,
    admin_client,
    receiver,
    antwerp_node,
    queued,
    django_capture_on_commit_callbacks,
    make_member,
    verified_session,
):
    receiver.fail_first = 10**6
    admin_client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    _fail_for_a_day(attempt)
    assert send_attempt(str(attempt.pk)) == State.DEAD
    queued.clear()
    assert send_attempt(str(attempt.pk)) == "skipped"  # dead letters are not retried on their own
    assert queued == []

    listed = admin_client.get("/api/v1/webhooks/dead-letters/").json()
    assert listed["count"] == 1
    [letter] = listed["results"]
    assert letter["id"] == str(attempt.pk)
    assert letter["state"] == "dead"
    assert letter["attempts"] == 2
    assert letter["delivery_id"] == str(attempt.delivery_id)
    assert letter["last_error"] == "HTTP 500"

    # Another agency's admin neither lists nor replays it (404: existence does not leak).
    hamburg_admin = verified_session(make_member("hamburg.admin", "deham-customs", "admin").user)
    assert hamburg_admin.get("/api/v1/webhooks/dead-letters/").json()["count"] == 0
    assert hamburg_admin.post(f"/api/v1/webhooks/dead-letters/{attempt.pk}/replay/").status_code == 404
    assert WebhookDelivery.objects.get(pk=attempt.pk).state == State.DEAD

    # Our admin replays it: pending again with a fresh window, audited, queued, and sent once the receiver recovers.
    receiver.fail_first = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/webhooks/dead-letters/{attempt.pk}/replay/")
    assert response.status_code == 202, response.json()
    assert response.json()["state"] == "pending"
    assert response.json()["attempts"] == 0
    assert AuditEntry.objects.filter(action="webhook.replayed", object_id=str(attempt.pk)).exists()
    assert queued == [str(attempt.pk)]
    assert send_attempt(str(attempt.pk)) == State.SENT
    assert [r["status"] for r in receiver.received][-1] == 200
    assert receiver.received[-1]["headers"]["X-Alliance-Delivery"] == str(attempt.delivery_id)
    # Only dead letters are replayed.
    assert admin_client.post(f"/api/v1/webhooks/dead-letters/{attempt.pk}/replay/").status_code == 404
    assert admin_client.get("/api/v1/webhooks/dead-letters/").json()["count"] == 0


def test_a_portal_page_lists_endpoints_attempts_and_dead_letters_with_replay(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, verified_session
):
    receiver.fail_first = 10**6
    page = admin_client.get("/agency/webhooks/")
    assert page.status_code == 200
    assert b"No endpoints yet." in page.content
    # Registering through the page; a refused URL shows its field error.
    refused = admin_client.post("/agency/webhooks/", {"url": "http://example.org/hook"})
    assert refused.status_code == 400
    assert b"Only https:// URLs are accepted." in refused.content
    created = admin_client.post("/agency/webhooks/", {"url": receiver.url(), "description": "SOC"})
    assert created.status_code == 302
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    _fail_for_a_day(attempt)
    send_attempt(str(attempt.pk))
    page = admin_client.get("/agency/webhooks/")
    html = page.content.decode()
    assert receiver.url() in html
    assert "SOC" in html
    assert f"/agency/webhooks/dead-letters/{attempt.pk}/replay/" in html
    assert "Replay" in html

    # The Replay button.
    receiver.fail_first = 0
    assert admin_client.post(f"/agency/webhooks/dead-letters/{attempt.pk}/replay/").status_code == 302
    assert WebhookDelivery.objects.get(pk=attempt.pk).state == State.PENDING
    assert send_attempt(str(attempt.pk)) == State.SENT

    # An analyst of the same agency, and the admin of a private-sector agency, are refused the page.
    analyst = verified_session(cast["users"]["colleague"])
    assert analyst.get("/agency/webhooks/").status_code == 403
    from ports.services import member_add

    terminal_admin = member_add(
        username="rotterdam.terminal.admin",
        agency=cast["memberships"]["rotterdam_terminal"].agency,
        role="admin",
        password="x" * 16,
        display_name="Terminal Admin",
    )
    private = verified_session(terminal_admin.user)
    assert private.get("/agency/webhooks/").status_code == 403
    assert private.post(f"/agency/webhooks/dead-letters/{attempt.pk}/replay/").status_code == 403


def test_another_agency_admin_page_shows_none_of_ours(
    cast,
    admin_client,
    receiver,
    antwerp_node,
    queued,
    django_capture_on_commit_callbacks,
    make_member,
    verified_session,
):
    admin_client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    hamburg_admin = verified_session(make_member("hamburg.admin", "deham-customs", "admin").user)
    html = hamburg_admin.get("/agency/webhooks/").content.decode()
    assert receiver.url() not in html
    assert str(attempt.delivery_id) not in html
    endpoint_id = attempt.endpoint_id
    assert hamburg_admin.post(f"/agency/webhooks/{endpoint_id}/delete/").status_code == 404
    assert attempt.endpoint.__class__.objects.get(pk=endpoint_id).is_active
