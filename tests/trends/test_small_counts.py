"""Small counts (SPEC section 7): the three ways an outsider recovered a `<3` count, each run on two alliances
that differ only in that hidden count (1 rather than 2); the outsider's answers must be identical. Insiders
and liaisons still see exact figures."""

from datetime import date

import pytest
from django.db import transaction

from tests.trends.release_world import store_flag, write_cells

pytestmark = pytest.mark.django_db

W1, W2 = date(2025, 3, 3), date(2025, 3, 10)


def _in_world(cells, build_flag, ask):
    """`ask()` on an alliance holding `cells` (and the flag, if asked), rolled back afterwards."""
    with transaction.atomic():
        write_cells(cells)
        flag = store_flag(cells, [], a="NLRTM", b="BEANR", origin="ECGYE", weeks=[W1, W2]) if build_flag else None
        answers = ask(flag)
        transaction.set_rollback(True)
    return answers


def _both(cells_for, ask, build_flag=False):
    return [_in_world(cells_for(hidden), build_flag, ask) for hidden in (1, 2)]


def test_two_origin_sets_do_not_reveal_a_hidden_count(cast, api_as):
    def cells(hidden):
        return {
            (W1, "BEANR", "ECGYE"): (42, hidden, 0, 0.0),
            (W1, "BEANR", "BRSSZ"): (30, 5, 0, 0.0),
            (W1, "NLRTM", "ECGYE"): (100, 7, 0, 0.0),
        }

    base = "/api/v1/trends/?since=2025-03-03&until=2025-03-09&bucket=week&port=BEANR"
    outsider = api_as(cast["users"]["hamburg_police"])

    def ask(_flag):
        one = outsider.get(base + "&origin=ECGYE").json()
        two = outsider.get(base + "&origin=ECGYE,BRSSZ").json()
        return one, two

    first, second = _both(cells, ask)
    assert first == second
    one, two = first
    assert one["ports"][0]["series"][0]["suspect"] == "<3"
    # The scans are shown; the suspect count is left out of the sum, and that is said.
    assert two["ports"][0]["series"][0]["suspect"] == 5
    assert two["ports"][0]["series"][0]["cells_left_out"] == 1
    assert two["overall"][0]["suspect"] == 5
    assert two["cells_left_out"] == 1

    def ask_insiders(_flag):
        return [
            api_as(cast["users"][name]).get(base + "&origin=ECGYE,BRSSZ").json()["ports"][0]["series"][0]["suspect"]
            for name in ("colleague", "europol_liaison")
        ]

    assert _both(cells, ask_insiders) == [[6, 6], [7, 7]]


def test_day_buckets_of_another_port_are_refused_and_months_come_from_weeks(cast, api_as):
    def cells(hidden):
        return {
            (W1, "BEANR", "ECGYE"): (40, hidden, 0, 0.0),
            (W2, "BEANR", "ECGYE"): (40, 4, 0, 0.0),
        }

    outsider = api_as(cast["users"]["rotterdam_customs"])
    days = "/api/v1/trends/?since=2025-03-03&until=2025-03-16&bucket=day"

    def ask(_flag):
        refused = [outsider.get(days + query) for query in ("&port=BEANR", "", "&hub=north_west")]
        assert all(r.status_code == 400 and "bucket" in r.json()["errors"] for r in refused)
        month = outsider.get("/api/v1/trends/?since=2025-03-01&until=2025-03-31&bucket=month&port=BEANR").json()
        week = outsider.get("/api/v1/trends/?since=2025-03-03&until=2025-03-16&bucket=week&port=BEANR").json()
        own = outsider.get(days + "&port=NLRTM").status_code
        return month, week, own

    first, second = _both(cells, ask)
    assert first == second
    month, week, own = first
    assert own == 200  # their own port, by day
    assert [p["suspect"] for p in week["ports"][0]["series"]] == ["<3", 4]
    assert month["ports"][0]["series"][0]["suspect"] == 4
    assert month["ports"][0]["series"][0]["cells_left_out"] == 1

    def ask_insiders(_flag):
        out = []
        for name in ("colleague", "europol_liaison"):
            body = api_as(cast["users"][name]).get(days + "&port=BEANR").json()
            out.append(sum(p["suspect"] for p in body["ports"][0]["series"]))
        return out

    assert _both(cells, ask_insiders) == [[5, 5], [6, 6]]


def test_flag_evidence_does_not_reveal_a_hidden_count(cast, api_as):
    """B's hits against its trends line, and the rest of the alliance against the overall line."""

    def cells(hidden):
        return {
            (W1, "NLRTM", "ECGYE"): (60, 6, 0, 50.0),
            (W1, "BEANR", "ECGYE"): (30, hidden, 5, 80.0),  # hits 6 or 7: shown in the old evidence
            (W2, "BEANR", "ECGYE"): (30, 0, 4, 20.0),
            (W1, "DEHAM", "ECGYE"): (200, hidden, 0, 0.0),  # C: the rest of the alliance
            (W1, "ESALG", "ECGYE"): (100, 9, 0, 10.0),
        }

    reader = api_as(cast["users"]["rotterdam_customs"])

    def ask(flag):
        detail = reader.get(f"/api/v1/displacement/{flag.pk}/").json()
        listing = reader.get("/api/v1/displacement/").json()["results"]
        trends = reader.get("/api/v1/trends/?since=2025-03-03&until=2025-03-16&origin=ECGYE").json()
        return (
            {k: detail[k] for k in ("evidence", "seized_kg_before", "seized_kg_after")},
            listing[0]["evidence"],
            trends,
        )

    first, second = _both(cells, ask, build_flag=True)
    assert first == second
    row = first[0]["evidence"][0]
    assert (row["b_hits"], row["c_hits"], row["c_scans"]) == (5, 9, 300)
    assert row["a_hits"] == 6
    assert row["cells_left_out"] == 2

    def ask_liaison(flag):
        return api_as(cast["users"]["europol_liaison"]).get(f"/api/v1/displacement/{flag.pk}/").json()["evidence"][0]

    liaison = _both(cells, ask_liaison, build_flag=True)
    assert [(r["b_hits"], r["c_hits"]) for r in liaison] == [(6.0, 10.0), (7.0, 11.0)]
