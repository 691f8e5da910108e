"""Relay tasks are safe twice, and the sweep relays a scan whose enqueue was lost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scans.models import Delivery, ScanGroupObjectPermission, ScanOutbox
from scans.tasks import relay_scans, relay_sweep

pytestmark = pytest.mark.django_db

# A suspect scan at Antwerp bound for Hamburg: both ports' public-sector agencies, never the terminals.
RECIPIENTS = {"beanr-customs", "beanr-police", "deham-customs", "deham-police"}


def _push(antwerp_node, **fields) -> str:
    response = antwerp_node.push(**fields)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _effects(scan_id: str) -> tuple[list[str], list[tuple[int, int]]]:
    deliveries = sorted(Delivery.objects.filter(scan_id=scan_id).values_list("agency__slug", flat=True))
    grants = sorted(
        ScanGroupObjectPermission.objects.filter(content_object_id=scan_id).values_list("group_id", "permission_id")
    )
    return deliveries, grants


def _age(scan_id: str, minutes: int) -> None:
    ScanOutbox.objects.filter(scan_id=scan_id).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_relay_scans_twice_is_one_delivery_and_one_grant_per_recipient(cast, antwerp_node):
    scan_id = _push(antwerp_node, verdict="suspect", next_port="DEHAM")
    assert relay_scans([scan_id]) == 1
    deliveries, grants = _effects(scan_id)
    assert deliveries == sorted(RECIPIENTS)
    assert len(grants) == len(set(grants)) == len(RECIPIENTS)

    assert relay_scans([scan_id]) == 0  # already processed: claimed nothing
    assert _effects(scan_id) == (deliveries, grants)

    # Even a replay of a processed row (a crash between the work and the outbox mark) adds nothing.
    first = {d.agency_id: d.created_at for d in Delivery.objects.filter(scan_id=scan_id)}
    ScanOutbox.objects.filter(scan_id=scan_id).update(processed_at=None)
    assert relay_scans([scan_id]) == 1
    assert _effects(scan_id) == (deliveries, grants)
    assert {d.agency_id: d.created_at for d in Delivery.objects.filter(scan_id=scan_id)} == first


def test_relay_sweep_twice_is_one_effect(cast, antwerp_node):
    scan_ids = [_push(antwerp_node, verdict="suspect", next_port="DEHAM") for _ in range(3)]
    for scan_id in scan_ids:
        _age(scan_id, 5)
    assert relay_sweep() == 3
    effects = [_effects(s) for s in scan_ids]
    assert all(deliveries == sorted(RECIPIENTS) for deliveries, _ in effects)
    assert relay_sweep() == 0
    assert [_effects(s) for s in scan_ids] == effects
    assert Delivery.objects.count() == 3 * len(RECIPIENTS)
    assert ScanGroupObjectPermission.objects.count() == 3 * len(RECIPIENTS)


def test_the_sweep_relays_a_scan_whose_enqueue_was_lost(cast, api_as, antwerp_node, django_capture_on_commit_callbacks):
    # The ingest queues its relay on commit; drop that callback, as a broker outage or a crash would.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scan_id = _push(antwerp_node, verdict="suspect", next_port="DEHAM")
    assert callbacks, "the ingest should have queued a relay on commit"
    outbox = ScanOutbox.objects.get(scan_id=scan_id)
    assert outbox.processed_at is None

    # Younger than two minutes: the sweep leaves it to the task that may still be on its way.
    assert relay_sweep() == 0
    assert _effects(scan_id) == ([], [])

    _age(scan_id, 3)
    assert relay_sweep() == 1
    assert _effects(scan_id)[0] == sorted(RECIPIENTS)
    outbox.refresh_from_db()
    assert outbox.processed_at is not None
    # Delivered means readable: Hamburg customs finds it in its inbox and may open the scan.
    hamburg = api_as(cast["users"]["hamburg_customs"])
    assert [d["scan"]["id"] for d in hamburg.get("/api/v1/deliveries/").json()["results"]] == [scan_id]
    assert hamburg.get(f"/api/v1/scans/{scan_id}/").status_code == 200
    assert relay_sweep() == 0
