"""Trends API: public sector only; small counts of another port are "<3" except for liaisons and that port."""

from datetime import date

import pytest

from trends.models import StatisticsRow
from trends.services import rollups

pytestmark = pytest.mark.django_db

URL = "/api/v1/trends/?since=2025-03-03&until=2025-03-16&bucket=week"


def _rollup(day, port, origin, verdict, scans, kg=0.0):
    # The relay's write: the daily cell and its week and month.
    rollups.add_cells({(date.fromisoformat(day), port, origin, verdict): [scans, kg, 0]})


@pytest.fixture
def data(cast):
    _rollup("2025-03-03", "BEANR", "ECGYE", "clear", 40)
    _rollup("2025-03-04", "BEANR", "ECGYE", "suspect", 2)
    _rollup("2025-03-05", "BEANR", "ECGYE", "positive", 1, kg=250.0)
    _rollup("2025-03-10", "BEANR", "COCTG", "clear", 2)
    _rollup("2025-03-03", "NLRTM", "ECGYE", "clear", 100)
    _rollup("2025-03-04", "NLRTM", "ECGYE", "suspect", 7, kg=30.0)
    _rollup("2025-03-20", "NLRTM", "ECGYE", "clear", 999)  # outside the range


def _port(body, locode):
    return next(p for p in body["ports"] if p["port"] == locode)


def test_own_port_and_liaison_see_exact_counts(data, cast, api_as):
    for name in ["colleague", "antwerp_police", "europol_liaison"]:
        body = api_as(cast["users"][name]).get(URL).json()
        assert body["buckets"] == ["2025-03-03", "2025-03-10"]
        beanr = _port(body, "BEANR")
        assert beanr["masked"] is False
        assert beanr["series"][0] == {
            "bucket": "2025-03-03",
            "scans": 43,
            "suspect": 2,
            "positive": 1,
            "seized_kg": 250.0,
            "cells_left_out": 0,
        }, name
        assert beanr["series"][1]["scans"] == 2
        assert body["overall"][0] == {
            "bucket": "2025-03-03",
            "scans": 150,
            "suspect": 9,
            "positive": 1,
            "seized_kg": 280.0,
            "masked_ports": 0,
            "cells_left_out": 0,
        }


def test_other_ports_readers_see_small_counts_masked(data, cast, api_as):
    for name in ["rotterdam_customs", "hamburg_police", "europol_analyst"]:
        body = api_as(cast["users"][name]).get(URL).json()
        beanr = _port(body, "BEANR")
        assert beanr["masked"] is True
        assert beanr["series"][0] == {
            "bucket": "2025-03-03",
            "scans": 43,
            "suspect": "<3",
            "positive": "<3",
            "seized_kg": 250.0,
            "cells_left_out": 1,
        }, name  # 3 hits: their total weight is shown
        assert beanr["series"][1] == {
            "bucket": "2025-03-10",
            "scans": "<3",
            "suspect": 0,
            "positive": 0,
            "seized_kg": 0.0,
            "cells_left_out": 1,
        }
        # A masked cell is left out of the overall sum (subtraction would reveal it) and counted.
        assert body["overall"][0]["suspect"] == 7
        assert body["overall"][0]["masked_ports"] == 1
        assert body["overall"][1]["scans"] == 0
        assert body["overall"][1]["masked_ports"] == 1
        assert body["overall"][0]["cells_left_out"] == 1
        assert body["cells_left_out"] == 2
    own = _port(api_as(cast["users"]["rotterdam_customs"]).get(URL).json(), "NLRTM")
    assert own["masked"] is False
    assert own["series"][0]["suspect"] == 7


def test_single_seizure_weight_is_hidden_with_its_count(cast, api_as):
    _rollup("2025-03-05", "BEANR", "ECGYE", "positive", 1, kg=900.0)
    point = _port(api_as(cast["users"]["hamburg_police"]).get(URL).json(), "BEANR")["series"][0]
    assert point["positive"] == "<3"
    assert point["seized_kg"] is None


def test_filters_and_statistics_are_spread_over_buckets(data, cast, api_as):
    StatisticsRow.objects.create(
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 31),
        port_id="ESALG",
        origin_id="ECGYE",
        scans=310,
        suspect=31,
        positive=0,
        seized_kg=0,
        imported_at="2025-04-01T00:00:00Z",
    )
    client = api_as(cast["users"]["europol_liaison"])
    body = client.get("/api/v1/trends/?since=2025-03-01&until=2025-03-31&bucket=month&origin=ECGYE").json()
    assert [p["port"] for p in body["ports"]] == ["BEANR", "ESALG", "NLRTM"]
    assert _port(body, "ESALG")["series"] == [
        {"bucket": "2025-03-01", "scans": 310, "suspect": 31, "positive": 0, "seized_kg": 0.0, "cells_left_out": 0}
    ]
    weekly = client.get("/api/v1/trends/?since=2025-03-03&until=2025-03-09&bucket=week&port=ESALG").json()
    assert _port(weekly, "ESALG")["series"][0]["scans"] == 70  # 7 of the row's 31 days
    north_west = client.get(URL + "&hub=north_west").json()
    assert {p["port"] for p in north_west["ports"]} == {"BEANR", "NLRTM"}
    daily = client.get("/api/v1/trends/?since=2025-03-04&until=2025-03-04&bucket=day&port=NLRTM").json()
    assert daily["overall"] == [
        {
            "bucket": "2025-03-04",
            "scans": 7,
            "suspect": 7,
            "positive": 0,
            "seized_kg": 30.0,
            "masked_ports": 0,
            "cells_left_out": 0,
        }
    ]


def test_bad_parameters_are_named(cast, api_as):
    client = api_as(cast["users"]["colleague"])
    for query, field in [
        ("bucket=year", "bucket"),
        ("since=2025-04-01&until=2025-03-01", "since"),
        ("since=2015-01-01&until=2025-01-01", "since"),
        ("since=2024-01-01&until=2025-06-01&bucket=day", "since"),
        ("until=yesterday", "until"),
        ("port=beanr1", "port"),
        ("hub=atlantis", "hub"),
    ]:
        response = client.get(f"/api/v1/trends/?{query}")
        assert response.status_code == 400, (query, response.json())
        assert field in response.json()["errors"], (query, response.json())


def test_private_sector_is_refused(data, cast, api_as):
    for name in ["rotterdam_terminal", "hamburg_terminal"]:
        assert api_as(cast["users"][name]).get(URL).status_code == 403
