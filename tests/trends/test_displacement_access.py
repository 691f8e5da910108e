"""Displacement flags: read by the public-sector agencies at either port and by liaisons; status by liaisons."""

from datetime import date

import pytest
from django.utils import timezone

from ports.models import AuditEntry
from trends.models import DailyRollup, DisplacementFlag, MonthlyRollup, WeeklyRollup
from trends.services import rollups

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag(cast):
    # The scans behind the evidence row (readers outside a port see the evidence rebuilt from these).
    day = date(2025, 1, 7)
    rollups.add_cells(
        {
            (day, "NLRTM", "ECGYE", "clear"): [48, 0.0, 0],
            (day, "NLRTM", "ECGYE", "suspect"): [2, 40.0, 0],
            (day, "BEANR", "ECGYE", "clear"): [29, 0.0, 0],
            (day, "BEANR", "ECGYE", "positive"): [1, 12.0, 0],
            (day, "DEHAM", "ECGYE", "clear"): [880, 0.0, 0],
            (day, "DEHAM", "ECGYE", "suspect"): [20, 300.0, 0],
        }
    )
    now = timezone.now()
    evidence = [
        {
            "week": "2025-01-06",
            "a_scans": 50.0,
            "a_hits": 2.0,
            "a_seized_kg": 40.0,
            "b_scans": 30.0,
            "b_hits": 1.0,
            "b_seized_kg": 12.0,
            "c_scans": 900.0,
            "c_hits": 20.0,
            "c_seized_kg": 300.0,
        }
    ]
    return DisplacementFlag.objects.create(
        from_port_id="NLRTM",
        to_port_id="BEANR",
        origin_id="ECGYE",
        tightening_starts_on=date(2025, 3, 3),
        tightening_source="measure",
        window_before_start=date(2024, 9, 2),
        window_before_end=date(2025, 3, 3),
        window_after_start=date(2025, 3, 17),
        window_after_end=date(2025, 6, 9),
        lag_weeks=2,
        wdq=-0.8,
        effect=0.9,
        p_value=0.0004,
        p_raw=0.00001,
        confidence="high",
        evidence=evidence,
        detected_at=now,
        updated_at=now,
    )


def test_ports_of_the_flag_and_liaisons_read_it(flag, cast, api_as):
    for name in ["europol_liaison", "rotterdam_customs", "rotterdam_police", "colleague", "antwerp_police"]:
        client = api_as(cast["users"][name])
        listing = client.get("/api/v1/displacement/").json()
        assert [f["id"] for f in listing["results"]] == [str(flag.pk)], name
        detail = client.get(f"/api/v1/displacement/{flag.pk}/").json()
        assert detail["from_port"] == "NLRTM"
        assert detail["to_port"] == "BEANR"
        assert detail["origin"] == "ECGYE"
        assert detail["window_before"] == {"start": "2024-09-02", "end": "2025-03-03"}
        assert detail["window_after"] == {"start": "2025-03-17", "end": "2025-06-09"}
        assert detail["status"] == "open"
        assert detail["confidence"] == "high"
        assert detail["tightening"] == {
            "port": "NLRTM",
            "origin": "ECGYE",
            "starts_on": "2025-03-03",
            "source": "measure",
        }


def test_evidence_masks_the_other_ports_small_counts(flag, cast, api_as):
    rotterdam = api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/displacement/{flag.pk}/").json()
    row = rotterdam["evidence"][0]
    assert (row["a_hits"], row["a_seized_kg"]) == (2.0, 40.0)  # their own port
    assert (row["b_hits"], row["b_seized_kg"], row["b_scans"]) == ("<3", None, 30)
    assert (row["c_scans"], row["c_hits"], row["c_seized_kg"], row["cells_left_out"]) == (900, 20, 300.0, 1)
    liaison = api_as(cast["users"]["europol_liaison"]).get(f"/api/v1/displacement/{flag.pk}/").json()
    assert liaison["evidence"][0]["b_hits"] == 1.0


def test_others_neither_see_nor_list_it(flag, cast, api_as):
    for name in ["hamburg_customs", "hamburg_police", "europol_analyst"]:
        client = api_as(cast["users"][name])
        assert client.get("/api/v1/displacement/").json()["count"] == 0, name
        assert client.get(f"/api/v1/displacement/{flag.pk}/").status_code == 404, name
        assert client.get("/api/v1/displacement/?port=NLRTM").json()["count"] == 0
        response = client.post(f"/api/v1/displacement/{flag.pk}/status/", {"status": "dismissed", "reason": "x"})
        assert response.status_code == 404, name
    for name in ["rotterdam_terminal", "hamburg_terminal"]:
        client = api_as(cast["users"][name])
        assert client.get("/api/v1/displacement/").status_code == 403
        assert client.get(f"/api/v1/displacement/{flag.pk}/").status_code == 403


def test_only_a_liaison_sets_status_with_a_reason(flag, cast, api_as):
    url = f"/api/v1/displacement/{flag.pk}/status/"
    assert (
        api_as(cast["users"]["rotterdam_customs"]).post(url, {"status": "confirmed", "reason": "x"}).status_code == 403
    )
    liaison = api_as(cast["users"]["europol_liaison"])
    assert "reason" in liaison.post(url, {"status": "confirmed"}, format="json").json()["errors"]
    assert "status" in liaison.post(url, {"status": "open", "reason": "x"}, format="json").json()["errors"]
    response = liaison.post(url, {"status": "confirmed", "reason": "seizures at Antwerp match"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    assert response.json()["status_reason"] == "seizures at Antwerp match"
    entry = AuditEntry.objects.get(action="displacement.status")
    assert entry.data == {"from": "open", "to": "confirmed", "reason": "seizures at Antwerp match"}
    listing = api_as(cast["users"]["colleague"]).get("/api/v1/displacement/?status=confirmed").json()
    assert listing["count"] == 1
    # Dismissed stays dismissed, for a liaison's decision as for a detection rerun.
    assert liaison.post(url, {"status": "dismissed", "reason": "a new route"}, format="json").status_code == 200
    refused = liaison.post(url, {"status": "confirmed", "reason": "second thoughts"}, format="json")
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]


def test_window_kilograms_are_hidden_where_they_would_show_one_seizure(flag, cast, api_as, client):
    """B (BEANR) had a single hit in the before window: its seized total there is that load's weight."""
    flag.seized_kg_before, flag.seized_kg_after = 12.0, 0.0
    flag.save(update_fields=["seized_kg_before", "seized_kg_after"])
    url = f"/api/v1/displacement/{flag.pk}/"
    rotterdam = api_as(cast["users"]["rotterdam_customs"]).get(url).json()  # reads the flag, outside BEANR
    assert rotterdam["seized_kg_before"] is None
    assert rotterdam["seized_kg_after"] == 0.0
    for name in ("colleague", "europol_liaison"):  # BEANR's own agency, and a liaison, see it
        assert api_as(cast["users"][name]).get(url).json()["seized_kg_before"] == 12.0, name
    client.force_login(cast["users"]["rotterdam_customs"])
    page = client.get(f"/trends/flags/{flag.pk}/").content.decode()
    assert "hidden (fewer than 3 hits)" in page
    assert "12 kg" not in page


def _growth_world(b_hidden_hits: int):
    """A flag NLRTM -> BEANR whose after window holds a week with 1 or 2 hits at BEANR (hidden to outsiders)."""
    weeks = {"before": date(2025, 1, 6), "after1": date(2025, 3, 17), "after2": date(2025, 3, 24)}
    b_hits = {"before": 4, "after1": b_hidden_hits, "after2": 9}
    cells = {}
    for name, day in weeks.items():
        cells[(day, "NLRTM", "ECGYE", "clear")] = [60, 0.0, 0]
        cells[(day, "NLRTM", "ECGYE", "suspect")] = [6, 60.0, 0]
        cells[(day, "BEANR", "ECGYE", "clear")] = [40, 0.0, 0]
        cells[(day, "BEANR", "ECGYE", "suspect")] = [b_hits[name], 10.0 * b_hits[name], 0]
        cells[(day, "DEHAM", "ECGYE", "clear")] = [880, 0.0, 0]
        cells[(day, "DEHAM", "ECGYE", "suspect")] = [20, 300.0, 0]
    rollups.add_cells(cells)
    evidence = [
        {
            "week": day.isoformat(),
            "a_scans": 66.0,
            "a_hits": 6.0,
            "a_seized_kg": 60.0,
            "b_scans": 40.0 + b_hits[name],
            "b_hits": float(b_hits[name]),
            "b_seized_kg": 10.0 * b_hits[name],
            "c_scans": 900.0,
            "c_hits": 20.0,
            "c_seized_kg": 300.0,
        }
        for name, day in weeks.items()
    ]
    now = timezone.now()
    return DisplacementFlag.objects.create(
        from_port_id="NLRTM",
        to_port_id="BEANR",
        origin_id="ECGYE",
        tightening_starts_on=date(2025, 3, 17),
        tightening_source="measure",
        window_before_start=date(2025, 1, 6),
        window_before_end=date(2025, 3, 17),
        window_after_start=date(2025, 3, 17),
        window_after_end=date(2025, 3, 31),
        lag_weeks=0,
        wdq=-0.8,
        effect=0.9,
        p_value=0.0004,
        p_raw=0.00001,
        confidence="high",
        evidence=evidence,
        detected_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize("hidden", [1, 2])
def test_growth_is_computed_from_what_the_reader_sees(cast, api_as, hidden):
    flag = _growth_world(hidden)
    url = f"/api/v1/displacement/{flag.pk}/"
    liaison = api_as(cast["users"]["europol_liaison"]).get(url).json()
    assert [g["b_hits"] for g in liaison["growth"]] == [float(hidden), 9.0]
    assert liaison["growth"][-1]["cumulative_hits"] == hidden + 9.0
    rotterdam = api_as(cast["users"]["rotterdam_customs"]).get(url).json()  # outside BEANR: release cells
    first, second = rotterdam["growth"]
    assert (first["b_hits"], first["complete"], first["b_expected"]) == (None, False, None)
    assert second["complete"] is True
    assert second["cumulative_hits"] == 9.0  # the hidden week contributes nothing
    listed = api_as(cast["users"]["rotterdam_customs"]).get("/api/v1/displacement/").json()["results"]
    assert [f["growth"] for f in listed] == [rotterdam["growth"]]


def test_growth_hides_the_difference_between_one_and_two(cast, api_as):
    """Two worlds that differ only in a hidden count give an outsider identical growth."""
    answers = []
    for hidden in (1, 2):
        flag = _growth_world(hidden)
        response = api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/displacement/{flag.pk}/").json()
        answers.append(response["growth"])
        DisplacementFlag.objects.all().delete()
        for model in (DailyRollup, WeeklyRollup, MonthlyRollup):
            model.objects.all().delete()
    assert answers[0] == answers[1]
