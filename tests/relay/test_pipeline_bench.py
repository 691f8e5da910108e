"""The pipeline benchmark's measuring pieces (bench/bench_pipeline.py) on real relayed scans: a scan counts as
visible once its outbox row is processed, not before. No timing is asserted."""

import time

import pytest
from django.db import connection

from bench.bench_pipeline import Tracker, percentile
from scans.services.relay import relay_batch

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_percentile_picks_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 51.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_a_scan_is_visible_once_relayed(antwerp_node):
    response = antwerp_node.batch([antwerp_node.sign(antwerp_node.document()) for _ in range(3)])
    assert response.status_code == 200, response.json()
    ids = [r["id"] for r in response.json()["results"]]
    tracker = Tracker()
    acked = time.monotonic()
    tracker.pushed(ids, acked - 0.01, acked)

    with connection.cursor() as cursor:
        tracker.poll_once(cursor)
        assert tracker.seen == {}
        assert relay_batch(scan_ids=ids) == 3
        tracker.poll_once(cursor)

    assert set(tracker.seen) == set(ids)
    assert tracker.unseen == {}
    assert all(latency >= 0 for latency in tracker.latencies("sent") + tracker.latencies("acked"))
