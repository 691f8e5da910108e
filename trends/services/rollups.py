"""Daily rollups (SPEC section 7), kept current by the relay and by inspection outcomes, and rebuildable.

Counting rule, shared by the hooks and by `rebuild`: a scan counts once relayed (its outbox row processed,
or no outbox row at all) and while the verifier has not marked it invalid; it counts in the cell (UTC day
of scanned_at, port, origin, verdict). Its kilograms are its inspection outcome's when it has one, else the
scan's own figure. The hooks add increments with one `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`
per batch, so concurrent workers never lose counts.

Ordering between the relay and an outcome of the same scan: the relay holds the scan's outbox row locked
(`select_for_update`) until it commits, and the outcome hook locks that row too. Whichever commits first,
the other sees it: the relay counts an outcome already committed; an outcome recorded after the relay adds
its difference; an outcome recorded before the relay adds nothing (the relay will count it).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from django.db import connection, transaction
from django.db.models import Q

from ports.retention import first_retained_scan_day
from sharing.models import InspectionOutcome, OutcomeResult, Scan, ScanOutbox

from ..models import DailyRollup

Key = tuple[date, str, str, str]


def _day(scanned_at: datetime) -> date:
    return scanned_at.astimezone(UTC).date()


def _upsert(cells: dict[Key, list]) -> None:
    """Add [scans, seized_kg, inspected_positive] to each cell, creating it if needed (one statement a chunk)."""
    if not cells:
        return
    table = DailyRollup._meta.db_table
    items = sorted(cells.items())  # a fixed order: two workers lock the same cells in the same order
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        params: list = []
        for (day, port, origin, verdict), (scans, kg, inspected) in chunk:
            params += [day, port, origin, verdict, scans, float(kg), inspected]
        sql = (
            f"INSERT INTO {table} (day, port_id, origin_id, verdict, scans, seized_kg, inspected_positive) "
            f"VALUES {values} ON CONFLICT (day, port_id, origin_id, verdict) DO UPDATE SET "
            f"scans = {table}.scans + excluded.scans, "
            f"seized_kg = {table}.seized_kg + excluded.seized_kg, "
            f"inspected_positive = {table}.inspected_positive + excluded.inspected_positive"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _scan_kg(scan_kg: float | None, outcome: InspectionOutcome | None) -> float:
    if outcome is not None:
        return float(outcome.seized_kg or 0.0)
    return float(scan_kg or 0.0)


def on_relay(scans: Iterable[Scan]) -> None:
    """Relay hook, inside the relay transaction, once per scan (the outbox claim guarantees it)."""
    scans = list(scans)
    if not scans:
        return
    # One query, not a deferred field per scan (the relay loads only the fields it needs).
    failed = set(Scan.objects.filter(pk__in=[s.pk for s in scans], integrity_failed=True).values_list("pk", flat=True))
    scans = [s for s in scans if s.pk not in failed]
    outcomes = {o.scan_id: o for o in InspectionOutcome.objects.filter(scan_id__in=[s.pk for s in scans])}
    cells: dict[Key, list] = defaultdict(lambda: [0, 0.0, 0])
    for scan in scans:
        outcome = outcomes.get(scan.pk)
        cell = cells[(_day(scan.scanned_at), scan.port_id, scan.origin_id, scan.verdict)]
        cell[0] += 1
        cell[1] += _scan_kg(scan.seized_kg, outcome)
        cell[2] += int(outcome is not None and outcome.result == OutcomeResult.POSITIVE)
    _upsert(cells)


def on_outcome(outcome: InspectionOutcome) -> None:
    """Outcome hook, inside the recording transaction: add the outcome's difference if the scan already counts."""
    outbox = ScanOutbox.objects.select_for_update().filter(scan_id=outcome.scan_id).first()
    if outbox is not None and outbox.processed_at is None:
        return  # not relayed yet: the relay will count the scan with this outcome
    scan = Scan.objects.only("scanned_at", "port_id", "origin_id", "verdict", "seized_kg", "integrity_failed").get(
        pk=outcome.scan_id
    )
    if scan.integrity_failed:
        return
    delta_kg = _scan_kg(scan.seized_kg, outcome) - _scan_kg(scan.seized_kg, None)
    positive = int(outcome.result == OutcomeResult.POSITIVE)
    if delta_kg == 0 and not positive:
        return
    key = (_day(scan.scanned_at), scan.port_id, scan.origin_id, scan.verdict)
    _upsert({key: [0, delta_kg, positive]})


def counted_scans(since: date | None = None):
    """The scans the rollups count (see the module docstring)."""
    qs = Scan.objects.filter(integrity_failed=False).exclude(
        pk__in=ScanOutbox.objects.filter(processed_at__isnull=True).values("scan_id")
    )
    if since is not None:
        qs = qs.filter(scanned_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    return qs


def recount(since: date | None = None) -> dict[Key, list]:
    """The rollup cells computed from scratch from the scans (in batches, not holding every scan in memory)."""
    cells: dict[Key, list] = defaultdict(lambda: [0, 0.0, 0])
    qs = (
        counted_scans(since)
        .select_related("outcome")
        .only(
            "id", "scanned_at", "port_id", "origin_id", "verdict", "seized_kg", "outcome__seized_kg", "outcome__result"
        )
        .order_by()
    )
    for scan in qs.iterator(chunk_size=5000):
        outcome = scan.outcome if hasattr(scan, "outcome") else None  # a missing reverse one-to-one raises
        cell = cells[(_day(scan.scanned_at), scan.port_id, scan.origin_id, scan.verdict)]
        cell[0] += 1
        cell[1] += _scan_kg(scan.seized_kg, outcome)
        cell[2] += int(outcome is not None and outcome.result == OutcomeResult.POSITIVE)
    return cells


@transaction.atomic
def rebuild(since: date | None = None) -> int:
    """Recompute every rollup (or those from `since` on) from the scans; returns the number of cells written.

    Days before `ports.retention.first_retained_scan_day()` are never rebuilt (their scans were purged).

    Relays and outcomes committing meanwhile wait on the table lock (PostgreSQL) so nothing is counted twice
    or lost between the delete and the insert.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {DailyRollup._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    # Retention purged the scans before this day (read under the lock the purge takes to move it):
    # those days' rollups stay as they are, they cannot be recounted.
    floor = first_retained_scan_day()
    if floor is not None and (since is None or since < floor):
        since = floor
    existing = DailyRollup.objects.all()
    if since is not None:
        existing = existing.filter(day__gte=since)
    existing.delete()
    cells = recount(since)
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(day=d, port_id=p, origin_id=o, verdict=v, scans=c[0], seized_kg=c[1], inspected_positive=c[2])
            for (d, p, o, v), c in sorted(cells.items())
        ],
        batch_size=2000,
    )
    return len(cells)


def snapshot(since: date | None = None) -> dict[Key, tuple[int, float, int]]:
    """The stored rollups as {cell: (scans, kg rounded to 1 g, inspected_positive)} (tests, rebuild checks)."""
    qs = DailyRollup.objects.filter(Q(day__gte=since) if since else Q()).values_list(
        "day", "port_id", "origin_id", "verdict", "scans", "seized_kg", "inspected_positive"
    )
    return {(d, p, o, v): (s, round(k, 3), i) for d, p, o, v, s, k, i in qs if s or k or i}
