"""The relay's query count does not grow with the batch (the soak test found two queries per scan in
correlation, which let the relay fall behind ingest), and matches in a large batch are still found."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from correlation.models import Correlation
from scans.models import Delivery
from scans.services.relay import relay_batch
from tests.scans.helpers import Node
from tests.sharing.conftest import alert_fields, container

pytestmark = pytest.mark.django_db


@pytest.fixture
def rotterdam_node(cast, make_agency):
    return Node("nlrtm-xr-31", make_agency("nlrtm-customs"))


def _push_batch(node: Node, documents: list[dict]) -> list[str]:
    response = node.batch([node.sign(d) for d in documents])
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert all(r["status"] == "created" for r in results), results
    return [r["id"] for r in results]


def _relay_queries(scan_ids: list[str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert relay_batch(scan_ids=scan_ids) == len(scan_ids)
    return len(queries)


def test_relay_queries_do_not_grow_with_the_batch(antwerp_node):
    small = _push_batch(antwerp_node, [antwerp_node.document(container=container()) for _ in range(5)])
    large = _push_batch(antwerp_node, [antwerp_node.document(container=container()) for _ in range(60)])

    assert _relay_queries(large) == _relay_queries(small)
    assert Delivery.objects.filter(scan_id__in=large).count() == 60 * 2  # Antwerp customs and police


def test_matches_in_a_large_batch_are_still_found(cast, api_as, antwerp_node, rotterdam_node):
    alerted, seen_in_rotterdam = container(), container()
    response = api_as(cast["users"]["hamburg_customs"]).post(
        "/api/v1/alerts/",
        alert_fields(tlp="GREEN", port="DEHAM", containers=[alerted]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    [earlier] = _push_batch(rotterdam_node, [rotterdam_node.document(container=seen_in_rotterdam, verdict="suspect")])
    relay_batch(scan_ids=[earlier])

    documents = [antwerp_node.document(container=container()) for _ in range(40)]
    documents[7] = antwerp_node.document(container=alerted, verdict="clear")
    documents[23] = antwerp_node.document(container=seen_in_rotterdam, verdict="positive")
    ids = _push_batch(antwerp_node, documents)
    relay_batch(scan_ids=ids)

    found = set(Correlation.objects.values_list("value", flat=True))
    assert found == {alerted, seen_in_rotterdam}
    assert Correlation.objects.filter(scan_a_id=ids[7], alert_b_id=response.json()["id"]).exists()
    assert Correlation.objects.filter(scan_a_id=ids[23], scan_b_id=earlier).exists()
