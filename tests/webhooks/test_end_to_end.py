"""Real processes: Redis, a Celery worker, and an HTTPS receiver that fails at first, then recovers.

The worker relays the scans, creates the attempts in its after-relay hook,
POSTs them, and drives the retries itself (countdowns of the backoff, base
0.5 s here). Every delivery must reach the receiver exactly once, with a
signature that verifies against the portal key of the public JWKS.
"""

import json
import time

import pytest
from celery import Celery

from scans.models import Delivery
from scans.services import scans as scan_services
from tests.conftest import Worker
from webhooks.models import State, WebhookDelivery

from .conftest import verify_independently

SCANS = 6


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_every_delivery_arrives_once_signed_after_the_receiver_recovers(
    cast, admin_client, receiver, antwerp_node, redis_server, monkeypatch, tmp_path, api
):
    receiver.fail_first = 4
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "localhost")
    monkeypatch.setenv("WEBHOOK_CA_BUNDLE", str(receiver.ca))
    monkeypatch.setenv("WEBHOOK_BACKOFF_SECONDS", "0.5")
    assert admin_client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json").status_code == 201

    # This process has no broker: the ingest's own relay enqueue is dropped, and the worker is asked below.
    monkeypatch.setattr(scan_services, "_enqueue_relay", lambda scan_ids: None)
    scan_ids = []
    for n in range(SCANS):
        response = antwerp_node.push(verdict="suspect" if n % 2 else "clear")
        assert response.status_code == 201, response.json()
        scan_ids.append(response.json()["id"])

    worker = Worker(redis_url=redis_server.url, log=tmp_path / "worker.log").start().wait_ready()
    producer = Celery(broker=redis_server.url)
    try:
        producer.send_task("sharing.relay_scans", args=[scan_ids])
        expected: set[str] = set()
        rows: list = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = list(WebhookDelivery.objects.filter(delivery__scan_id__in=scan_ids))
            expected = {str(r.delivery_id) for r in rows}
            if len(rows) == SCANS and all(r.state == State.SENT for r in rows):
                break
            time.sleep(0.3)
        else:
            log = (tmp_path / "worker.log").read_text()[-3000:]
            pytest.fail(f"not all sent: {[(r.state, r.attempts, r.last_error) for r in rows]}\n{log}")
        time.sleep(1.5)  # a late duplicate would arrive within this
    finally:
        producer.close()
        worker.stop()

    customs = Delivery.objects.filter(scan_id__in=scan_ids, agency__slug="beanr-customs").values_list("pk", flat=True)
    assert len(expected) == SCANS
    assert expected == {str(pk) for pk in customs}
    failed = [r for r in receiver.received if r["status"] != 200]
    assert len(failed) == 4  # the receiver's outage was real, and retried through
    accepted = receiver.accepted
    delivered = [r["headers"]["X-Alliance-Delivery"] for r in accepted]
    assert sorted(delivered) == sorted(expected)  # every delivery exactly once
    assert max(r.attempts for r in WebhookDelivery.objects.filter(delivery__scan_id__in=scan_ids)) >= 2

    jwks = api.get("/.well-known/jwks.json").json()
    for request in accepted:
        verify_independently(jwks, request["headers"], request["body"])
        body = json.loads(request["body"])
        assert body["delivery_id"] == request["headers"]["X-Alliance-Delivery"]
        assert body["scan"]["id"] in scan_ids
        assert body["scan"]["jws"].count(".") == 2
