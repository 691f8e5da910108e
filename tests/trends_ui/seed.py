"""A small alliance for the dashboard tests: weekly statistics at five ports on two origins, and one
displacement flag (Rotterdam tightened on Guayaquil in week 16, the risk moved to Antwerp), stored through
the trends services as an import and a detection run would store them."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from ports.models import Agency
from ports.services import member_add
from tests.conftest import PASSWORD
from trends.analytics import displacement as core
from trends.models import DisplacementFlag, Measure
from trends.services.displacement import store_flags
from trends.services.measures import measure_declare
from trends.services.statistics import statistics_import, statistics_validate

WEEKS = 50
TIGHTENED_WEEK = 34
BEFORE_WEEKS = 20
CONTROL = ("DEHAM", "ESALG", "FRLEH")


def weeks() -> list[date]:
    """The last WEEKS complete ISO weeks (Mondays), oldest first."""
    today = timezone.now().date()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=WEEKS - k) for k in range(WEEKS)]


def _cell(port: str, origin: str, k: int) -> tuple[int, int, int, float]:
    """(scans, suspect, positive, seized_kg) at a port from an origin in week k: deterministic, with a pattern."""
    after = k >= TIGHTENED_WEEK
    if origin == "COCTG":
        return 40 + k % 5, 2, 1 if k % 3 == 0 else 0, 30.0 if k % 3 == 0 else 0.0
    if port == "NLRTM":  # tightened: more scans, fewer hits (the traffic left)
        return (220 + k % 7, 3, 2, 80.0) if after else (150 + k % 7, 10 + k % 3, 4, 260.0)
    if port == "BEANR":  # the displaced traffic arrives
        return (180 + k % 5, 16 + k % 4, 6, 540.5) if after else (175 + k % 5, 6 + k % 2, 2, 95.0)
    if port == "DEHAM":  # small counts: 1 or 2 suspect/positive, masked for other ports' readers
        return 90 + k % 4, 2 if k % 2 else 1, 1 if k % 4 == 0 else 0, 12.5 if k % 4 == 0 else 0.0
    return 120 + k % 6, 5, 1, 20.0  # ESALG, FRLEH: steady


def seed_statistics() -> list[date]:
    mondays = weeks()
    rows = []
    for k, monday in enumerate(mondays):
        for port in ("NLRTM", "BEANR", *CONTROL):
            for origin in ("ECGYE", "COCTG"):
                scans, suspect, positive, kg = _cell(port, origin, k)
                rows.append(
                    {
                        "period_start": monday.isoformat(),
                        "period_end": (monday + timedelta(days=6)).isoformat(),
                        "port": port,
                        "origin": origin,
                        "scans": scans,
                        "suspect": suspect,
                        "positive": positive,
                        "seized_kg": kg,
                    }
                )
    clean, errors = statistics_validate(rows)
    assert not errors, errors
    statistics_import(clean, source="dashboard tests")
    return mondays


def _evidence(mondays: list[date]) -> tuple[dict, ...]:
    """Weekly A/B/C figures over both windows, as the core reports them."""
    rows = []
    for k, monday in enumerate(mondays):
        if k < TIGHTENED_WEEK - BEFORE_WEEKS:
            continue
        a, b = _cell("NLRTM", "ECGYE", k), _cell("BEANR", "ECGYE", k)
        c = [_cell(p, "ECGYE", k) for p in CONTROL]
        rows.append(
            {
                "week": monday,
                "a_scans": float(a[0]),
                "a_hits": float(a[1] + a[2]),
                "a_seized_kg": a[3],
                "b_scans": float(b[0]),
                "b_hits": float(b[1] + b[2]),
                "b_seized_kg": b[3],
                "c_scans": float(sum(x[0] for x in c)),
                "c_hits": float(sum(x[1] + x[2] for x in c)),
                "c_seized_kg": sum(x[3] for x in c),
            }
        )
    return tuple(rows)


def seed_flag(mondays: list[date]) -> DisplacementFlag:
    """The flag a detection run stores for this data (figures as the core reports them)."""
    start = mondays[TIGHTENED_WEEK]
    flag = core.DisplacementFlag(
        from_port="NLRTM",
        to_port="BEANR",
        origin="ECGYE",
        tightening=core.Tightening(port="NLRTM", origin="ECGYE", starts_on=start, source="measure"),
        window_before=(mondays[TIGHTENED_WEEK - BEFORE_WEEKS], start),
        window_after=(start, mondays[-1] + timedelta(days=7)),
        lag_weeks=0,
        wdq=-0.83,
        effect=0.92,
        p_value=0.0004,
        p_raw=0.00005,
        confidence="high",
        seized_kg_before=95.0 * BEFORE_WEEKS,
        seized_kg_after=540.5 * (WEEKS - TIGHTENED_WEEK),
        evidence=_evidence(mondays),
    )
    with transaction.atomic():  # as detection stores flags: under row locks
        created, _ = store_flags([flag])
    return created[0]


def seed_measure(mondays: list[date]) -> Measure:
    """Rotterdam customs declares the tightening the flag is about."""
    officer = member_add(
        username="rotterdam.officer",
        agency=Agency.objects.get(slug="nlrtm-customs"),
        role="officer",
        password=PASSWORD,
        display_name="Rotterdam Officer",
    )
    return measure_declare(
        user=officer.user,
        port="NLRTM",
        origin="ECGYE",
        starts_on=mondays[TIGHTENED_WEEK],
        description="100 % scanning of reefers from Guayaquil",
    )


def seed() -> tuple[list[date], DisplacementFlag]:
    """Statistics, the declared measure and the flag; needs the `cast` (its agencies)."""
    mondays = seed_statistics()
    seed_measure(mondays)
    return mondays, seed_flag(mondays)
