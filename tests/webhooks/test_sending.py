"""Sending relayed scans to an HTTPS receiver: signed bodies, once per delivery, backoff, redirects refused."""

import json

from django.utils import timezone

from scans.models import Delivery, Scan
from webhooks.models import State, WebhookDelivery
from webhooks.tasks import send_attempt

from .conftest import attempts_of, push_and_relay, verify_independently


def _register(client, receiver) -> dict:
    response = client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_relayed_scan_is_posted_once_with_a_portal_signature(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, api
):
    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks, verdict="suspect")
    [attempt] = attempts_of(scan["id"])
    assert attempt.delivery.agency.slug == "beanr-customs"
    assert attempt.state == State.PENDING
    assert queued == [str(attempt.pk)]

    assert send_attempt(str(attempt.pk)) == State.SENT
    assert send_attempt(str(attempt.pk)) == "skipped"  # a task run twice: one POST
    [request] = receiver.received
    assert request["path"] == "/hook"
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Alliance-Delivery"] == str(attempt.delivery_id)
    verify_independently(api.get("/.well-known/jwks.json").json(), headers, body)
    document = json.loads(body)
    assert set(document) == {"delivery_id", "sent_at", "scan"}
    assert document["delivery_id"] == str(attempt.delivery_id)
    assert document["sent_at"].endswith("Z")
    stored = Scan.objects.get(pk=scan["id"])
    assert document["scan"]["id"] == scan["id"]
    assert document["scan"]["scan_id"] == stored.scan_id
    assert document["scan"]["jws"] == stored.jws  # the node's original JWS, byte for byte
    assert document["scan"]["signature_status"] == "verified"
    assert document["scan"]["verdict"] == "suspect"
    attempt.refresh_from_db()
    assert attempt.attempts == 1
    assert attempt.last_status == 200
    assert attempt.sent_at is not None


def test_relaying_again_does_not_send_again(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    from webhooks.services import attempts_create

    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    send_attempt(str(attempt.pk))
    # The relay hook firing again for the same deliveries (a replayed batch) adds no attempt.
    attempts_create(delivery_ids=list(Delivery.objects.filter(scan_id=scan["id"]).values_list("pk", flat=True)))
    assert len(attempts_of(scan["id"])) == 1
    assert len(receiver.received) == 1


def test_failures_back_off_exponentially_then_succeed(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    receiver.fail_first = 2
    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    delays = []
    for expected in (State.FAILED, State.FAILED, State.SENT):
        before = timezone.now()
        assert send_attempt(str(attempt.pk)) == expected
        attempt.refresh_from_db()
        if expected == State.FAILED:
            assert attempt.last_status == 500
            assert attempt.last_error == "HTTP 500"
            delays.append((attempt.next_attempt_at - before).total_seconds())
            # Not due yet: a task that fires early sends nothing.
            assert send_attempt(str(attempt.pk)) == "skipped"
            WebhookDelivery.objects.filter(pk=attempt.pk).update(next_attempt_at=timezone.now())
    assert 0.9 <= delays[0] < 1.9, delays  # 1 s, then 2 s (base 1 s in tests)
    assert 1.9 <= delays[1] < 2.9, delays
    assert attempt.attempts == 3
    assert attempt.state == State.SENT
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    # The retries were queued with their countdowns (the sweep is only the safety net).
    assert queued.count(str(attempt.pk)) == 3


def test_redirects_are_not_followed(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    receiver.redirect = True
    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    assert send_attempt(str(attempt.pk)) == State.FAILED
    attempt.refresh_from_db()
    assert attempt.last_status == 302
    assert "redirects are not followed" in attempt.last_error
    assert len(receiver.received) == 1  # one request, and the Location was not visited


def test_an_untrusted_certificate_fails_the_attempt(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, settings
):
    _register(admin_client, receiver)
    settings.WEBHOOK_CA_BUNDLE = ""  # public CAs only: the throwaway CA is not among them
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    assert send_attempt(str(attempt.pk)) == State.FAILED
    attempt.refresh_from_db()
    assert "SSL" in attempt.last_error or "certificate" in attempt.last_error, attempt.last_error
    assert receiver.received == []


def test_an_endpoint_registered_later_gets_no_history_and_a_removed_one_gets_nothing_more(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    earlier = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    endpoint = _register(admin_client, receiver)
    assert attempts_of(earlier["id"]) == []
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    assert admin_client.delete(f"/api/v1/webhooks/{endpoint['id']}/").status_code == 204
    assert send_attempt(str(attempt.pk)) == "skipped"
    attempt.refresh_from_db()
    assert attempt.state == State.DROPPED
    assert attempt.last_error == "endpoint removed"
    assert receiver.received == []


def test_the_sweep_requeues_due_attempts_and_recreates_lost_ones(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks
):
    from webhooks.services import sweep

    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    queued.clear()
    assert sweep() == 1
    assert queued == [str(attempt.pk)]
    # The after-relay hook never ran for this delivery (a worker died after the relay committed).
    attempt.delete()
    queued.clear()
    assert sweep() == 1
    [recreated] = attempts_of(scan["id"])
    assert queued == [str(recreated.pk)]
    assert send_attempt(str(recreated.pk)) == State.SENT
    # A sent attempt is never queued again.
    queued.clear()
    assert sweep() == 0
    assert queued == []
    assert len(receiver.received) == 1


def test_an_error_inside_the_portal_counts_as_a_failed_attempt_and_frees_the_claim(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, monkeypatch
):
    from webhooks import services

    _register(admin_client, receiver)
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "body_bytes", broken)
    assert send_attempt(str(attempt.pk)) == State.FAILED
    attempt.refresh_from_db()
    assert attempt.last_error == "internal error: RuntimeError"
    assert attempt.claimed_until is None
    assert receiver.received == []
