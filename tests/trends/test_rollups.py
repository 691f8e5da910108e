"""Daily rollups follow the relay and inspection outcomes, count each scan once, and rebuild identically."""

from datetime import date

import pytest
from django.core.management import call_command

from scans.models import Scan
from scans.services.relay import relay_batch
from trends.models import DailyRollup
from trends.services import rollups

pytestmark = pytest.mark.django_db


def _outcome(client, scan_id, result, kg=None):
    body = {"result": result} if kg is None else {"result": result, "seized_kg": kg}
    response = client.post(f"/api/v1/scans/{scan_id}/outcome/", body, format="json")
    assert response.status_code == 201, response.json()


def _mixed_traffic(antwerp_node, rotterdam_node, cast, api_as):
    """Scans on three days, two ports, two origins, every verdict; outcomes before and after the relay."""
    antwerp_officer = api_as(cast["users"]["author"])
    pushed = []
    plan = [
        (antwerp_node, "2025-03-03T08:00:00Z", "ECGYE", "clear", None),
        (antwerp_node, "2025-03-03T23:59:59Z", "ECGYE", "clear", None),
        (antwerp_node, "2025-03-04T00:00:00Z", "ECGYE", "suspect", None),
        (antwerp_node, "2025-03-04T10:00:00Z", "COCTG", "positive", 40.5),
        (antwerp_node, "2025-03-04T11:00:00Z", "COCTG", "inconclusive", None),
        (rotterdam_node, "2025-03-03T09:00:00Z", "ECGYE", "suspect", None),
        (rotterdam_node, "2025-03-05T09:00:00Z", "BRSSZ", "clear", None),
    ]
    for node, at, origin, verdict, kg in plan:
        doc = node.document(scanned_at=at, origin=origin, verdict=verdict)
        if kg is not None:
            doc["seized_kg"] = kg
        response = node.push(doc)
        assert response.status_code in (200, 201), response.json()
        pushed.append(response.json()["id"])
    # An outcome recorded before the relay: the relay counts it.
    _outcome(antwerp_officer, pushed[2], "positive", 12.0)
    relay_batch(scan_ids=pushed[:4])
    relay_batch(scan_ids=pushed[:4])  # relayed twice: counted once
    relay_batch(scan_ids=pushed)
    relay_batch(scan_ids=pushed)
    # Outcomes after the relay: the outcome hook adds the difference.
    _outcome(antwerp_officer, pushed[3], "positive", 100.0)  # replaces the scan's 40.5
    _outcome(antwerp_officer, pushed[4], "negative")
    return pushed


def test_rollups_equal_a_recount_and_survive_a_rebuild(antwerp_node, rotterdam_node, cast, api_as):
    _mixed_traffic(antwerp_node, rotterdam_node, cast, api_as)
    live = rollups.snapshot()
    recount = {k: (c[0], round(c[1], 3), c[2]) for k, c in rollups.recount().items()}
    assert live == recount
    assert sum(s for s, _, _ in live.values()) == Scan.objects.count() == 7
    d = date.fromisoformat
    assert live[(d("2025-03-03"), "BEANR", "ECGYE", "clear")] == (2, 0.0, 0)
    assert live[(d("2025-03-04"), "BEANR", "ECGYE", "suspect")] == (1, 12.0, 1)
    assert live[(d("2025-03-04"), "BEANR", "COCTG", "positive")] == (1, 100.0, 1)
    assert live[(d("2025-03-04"), "BEANR", "COCTG", "inconclusive")] == (1, 0.0, 0)
    assert live[(d("2025-03-03"), "NLRTM", "ECGYE", "suspect")] == (1, 0.0, 0)

    call_command("rebuild_rollups")
    assert rollups.snapshot() == live
    DailyRollup.objects.filter(day__gte=d("2025-03-04")).update(scans=99)
    call_command("rebuild_rollups", "--since", "2025-03-04")
    assert rollups.snapshot() == live


def test_pending_scans_are_not_counted_until_relayed(antwerp_node, cast):
    scan = antwerp_node.push(verdict="suspect").json()
    assert rollups.snapshot() == {}
    assert rollups.recount() == {}
    relay_batch(scan_ids=[scan["id"]])
    assert sum(s for s, _, _ in rollups.snapshot().values()) == 1


def test_a_scan_found_invalid_leaves_the_rollups_and_comes_back_when_valid(antwerp_node, cast, api_as):
    from sharing.integrity import verify_all

    good = antwerp_node.push(verdict="suspect", scanned_at="2025-03-03T08:00:00Z").json()
    bad = antwerp_node.push(verdict="suspect", scanned_at="2025-03-03T09:00:00Z", seized_kg=12.5).json()
    relay_batch(scan_ids=[good["id"], bad["id"]])
    cell = (date(2025, 3, 3), "BEANR", "ECGYE", "suspect")
    assert rollups.snapshot()[cell] == (2, 12.5, 0)

    original = Scan.objects.get(pk=bad["id"]).container
    Scan.objects.filter(pk=bad["id"]).update(container="MSCU1234566")  # the stored row no longer matches its JWS
    verify_all(mark=True)
    assert rollups.snapshot()[cell] == (1, 0.0, 0)
    assert rollups.snapshot() == {k: (v[0], round(v[1], 3), v[2]) for k, v in rollups.recount().items() if v[0]}
    assert rollups.period_snapshot("week") == rollups.period_recount("week")
    verify_all(mark=True)  # marking again changes nothing
    assert rollups.snapshot()[cell] == (1, 0.0, 0)

    Scan.objects.filter(pk=bad["id"]).update(container=original)  # repaired (restored from backup)
    verify_all(mark=True)
    assert rollups.snapshot()[cell] == (2, 12.5, 0)
