"""Property (SPEC section 7, small counts): two alliances that differ only in one hidden count of one cell an
outsider sees (1 rather than 2, everything else equal) give that outsider identical answers everywhere:
trends (origin sets, ports, hubs, week and month buckets, ranges), CSV exports, flags and their evidence."""

import os
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trends.release_world import store_flag, write_cells, write_statistics

pytestmark = pytest.mark.django_db

PORTS = ["BEANR", "NLRTM", "DEHAM", "ESALG"]
HIDDEN_PORTS = ["BEANR", "ESALG"]  # outsiders to every reader below
ORIGINS = ["ECGYE", "COCTG", "BRSSZ"]
WEEKS = [date(2025, 3, 3) + timedelta(weeks=i) for i in range(6)]  # crosses into April
READERS = ["rotterdam_customs", "hamburg_police", "europol_analyst"]

counts = st.integers(0, 6)
kgs = st.sampled_from([0.0, 12.5, 300.0])


@st.composite
def cell_values(draw):
    scans = draw(st.integers(0, 12))
    suspect = draw(st.integers(0, scans))
    positive = draw(st.integers(0, scans - suspect))
    return scans, suspect, positive, draw(kgs) if suspect + positive else 0.0


@st.composite
def hidden_pair(draw):
    """Two versions of one cell whose release cells are equal: a count of 1 against 2, or a hidden weight."""
    kind = draw(st.sampled_from(["scans", "suspect", "positive", "seized_kg"]))
    kg = draw(kgs)
    if kind == "scans":
        return (1, 0, 0, 0.0), (2, 0, 0, 0.0)
    if kind == "seized_kg":
        hits = draw(st.integers(1, 2))
        scans = draw(st.integers(3, 9))
        return (scans, hits, 0, 10.0), (scans, hits, 0, 900.0)
    other = draw(st.sampled_from([0, 2, 3, 5]))  # hits stay both small or both shown
    scans = draw(st.integers(other + 3, other + 9))
    pair = []
    for hidden in (1, 2):
        suspect, positive = (hidden, other) if kind == "suspect" else (other, hidden)
        shown = suspect + positive not in (1, 2)
        pair.append((scans, suspect, positive, kg if shown else (kg or 5.0)))
    return tuple(pair)


def _week_of(start: date) -> date:
    """The ISO week whose cell holds a one-week statistics row starting on `start` (its middle day's week)."""
    middle = start + timedelta(days=3)
    return middle - timedelta(days=middle.weekday())


@st.composite
def alliances(draw):
    keys = st.tuples(st.sampled_from(WEEKS), st.sampled_from(PORTS), st.sampled_from(ORIGINS))
    cells = draw(st.dictionaries(keys, cell_values(), max_size=14))
    statistics = []
    for port, origin in draw(st.sets(st.tuples(st.sampled_from(["ESALG", "DEHAM"]), st.sampled_from(ORIGINS)))):
        start = draw(st.sampled_from([date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 12)]))
        length = draw(st.sampled_from([7, 14, 31]))
        scans, suspect, positive, kg = draw(cell_values())
        statistics.append((start, start + timedelta(days=length - 1), port, origin, scans, suspect, positive, kg))
    # The hidden cell: a week cell of an outsider port, or (at ESALG) a statistics row of its own.
    low, high = draw(hidden_pair())
    if draw(st.booleans()):
        key = (draw(st.sampled_from(WEEKS)), draw(st.sampled_from(HIDDEN_PORTS)), draw(st.sampled_from(ORIGINS)))
        cells.pop(key, None)
        # Nor may a one-week statistics row be merged into the hidden week cell (the same reason as below).
        statistics = [
            s
            for s in statistics
            if not (s[1] - s[0] == timedelta(days=6) and _week_of(s[0]) == key[0] and (s[2], s[3]) == key[1:])
        ]
        one = ({**cells, key: low}, statistics)
        two = ({**cells, key: high}, statistics)
    else:
        origin = draw(st.sampled_from(ORIGINS))
        statistics = [s for s in statistics if (s[2], s[3]) != ("ESALG", origin)]
        start = draw(st.sampled_from([date(2025, 3, 3), date(2025, 3, 10)]))
        end = start + timedelta(days=draw(st.sampled_from([6, 20, 27])))
        if end - start == timedelta(days=6):
            # A one-week row is merged into its week's cell (SPEC section 7): that cell must hold the hidden
            # count alone, or the two alliances would differ by a cell of 2 against 3, which is not hidden.
            cells = {k: v for k, v in cells.items() if k != (start, "ESALG", origin)}
        one = (cells, [*statistics, (start, end, "ESALG", origin, *low)])
        two = (cells, [*statistics, (start, end, "ESALG", origin, *high)])
    return one, two


def _codes(draw, choices):
    picked = draw(st.lists(st.sampled_from(choices), max_size=3, unique=True))
    return ",".join(picked)


@st.composite
def requests(draw):
    """(reader, trends query string) an outsider might send."""
    bucket = draw(st.sampled_from(["week", "month", "day"]))
    since = date(2025, 2, 24) + timedelta(days=draw(st.integers(0, 30)))
    until = since + timedelta(days=draw(st.integers(0, 50)))
    params = {"bucket": bucket, "since": since.isoformat(), "until": until.isoformat()}
    params["origin"] = _codes(draw, ORIGINS)
    params["port"] = _codes(draw, PORTS)
    params["hub"] = draw(st.sampled_from(["", "north_west", "south_west"]))
    return draw(st.sampled_from(READERS)), "&".join(f"{k}={v}" for k, v in params.items() if v)


def _answers(world, clients, pages, asked) -> list:
    cells, statistics = world
    with transaction.atomic():
        write_cells(cells)
        write_statistics(statistics)
        flags = [
            store_flag(cells, statistics, a="NLRTM", b="BEANR", origin="ECGYE", weeks=WEEKS),
            store_flag(cells, statistics, a="DEHAM", b="ESALG", origin="COCTG", weeks=WEEKS),
        ]
        out = []
        for reader, query in asked:
            response = clients[reader].get(f"/api/v1/trends/?{query}")
            out.append((response.status_code, response.json()))
            csv = pages[reader].get(f"/trends/export.csv?{query}")
            out.append((csv.status_code, csv.content))
        for reader in READERS:
            listing = clients[reader].get("/api/v1/displacement/").json()
            details = [clients[reader].get(f"/api/v1/displacement/{flag.pk}/") for flag in flags]
            page = [pages[reader].get(f"/trends/flags/{flag.pk}/").status_code for flag in flags]
            out.append(([_without_ids(f) for f in listing["results"]], [_without_ids(d.json()) for d in details], page))
        transaction.set_rollback(True)
    return out


def _without_ids(flag: dict) -> dict:
    """A flag's answer without what differs between two stored copies (its id and times)."""
    return {k: v for k, v in flag.items() if k not in ("id", "url", "detected_at", "updated_at")}


@settings(
    # Derandomized in the suite so that CI is reproducible; PROPERTY_EXPLORE=N runs N random examples instead
    # (120 pass). Random runs once found "differences" that were the generator's: a hidden count merged with
    # a one-week statistics row into one week cell (2 against 3 is not hidden); it keeps them apart now.
    max_examples=int(os.environ.get("PROPERTY_EXPLORE", "20")),
    derandomize="PROPERTY_EXPLORE" not in os.environ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pair=alliances(), asked=st.lists(requests(), min_size=3, max_size=6))
def test_outsiders_get_identical_answers_from_alliances_one_hidden_count_apart(cast, api_as, pair, asked):
    clients = {name: api_as(cast["users"][name]) for name in READERS}
    pages = {}
    for name in READERS:
        pages[name] = Client()
        pages[name].force_login(cast["users"][name])
    one, two = pair
    first, second = _answers(one, clients, pages, asked), _answers(two, clients, pages, asked)
    assert first == second, (_first_difference(first, second), one, two)


def _first_difference(a, b, path="") -> str:
    """Where two answers first differ, as a path (the whole answers are too long to read in a report)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"
