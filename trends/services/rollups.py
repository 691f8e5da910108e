"""Daily rollups (SPEC section 7), kept current by the relay and by inspection outcomes, and rebuildable.

Counting rule, shared by the hooks and by `rebuild`: a scan counts once relayed (its outbox row processed,
or no outbox row at all) and while the verifier has not marked it invalid; it counts in the cell (UTC day
of scanned_at, port, origin, verdict). Its kilograms are its inspection outcome's when it has one, else the
scan's own figure. The hooks add increments with one `INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x`
per batch, so concurrent workers never lose counts. The same upsert, in the same transaction, adds them to
the cell's week and month (`WeeklyRollup`, `MonthlyRollup`, verdicts as columns), which therefore always equal
the daily cells summed per period; `rebuild` recomputes those from the daily cells it has just written.

Ordering between the relay and an outcome of the same scan: the relay holds the scan's outbox row locked
(`select_for_update`) until it commits, and the outcome hook locks that row too. Whichever commits first,
the other sees it: the relay counts an outcome already committed; an outcome recorded after the relay adds
its difference; an outcome recorded before the relay adds nothing (the relay will count it).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import DateField, F, Q, Sum
from django.db.models.functions import Greatest, TruncMonth, TruncWeek

from ports.retention import first_retained_scan_day
from scans.models import InspectionOutcome, OutcomeResult, Scan, ScanOutbox, Verdict

from ..models import DailyRollup, MonthlyRollup, WeeklyRollup

Key = tuple[date, str, str, str]


def _day(scanned_at: datetime) -> date:
    return scanned_at.astimezone(UTC).date()


PeriodKey = tuple[date, str, str]
PERIOD_MODELS: dict[str, type[WeeklyRollup] | type[MonthlyRollup]] = {"week": WeeklyRollup, "month": MonthlyRollup}


def period_start(day: date, period: str) -> date:
    """The Monday of the ISO week, or the first of the month, holding `day`."""
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def _upsert_sql(table: str, keys: list[str], columns: list[str], rows: list[tuple]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column, in chunks of 500."""
    names = keys + columns
    increments = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([placeholder] * len(chunk))} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {increments}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])


def period_cells(cells: dict[Key, list], period: str) -> dict[PeriodKey, list]:
    """Daily cells {(day, port, origin, verdict): [scans, kg, inspected]} summed per period, verdicts as columns:
    {(start, port, origin): [scans, suspect, positive, kg, inspected]}."""
    out: dict[PeriodKey, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0])
    for (day, port, origin, verdict), (scans, kg, inspected) in cells.items():
        cell = out[(period_start(day, period), port, origin)]
        cell[0] += scans
        cell[1] += scans if verdict == Verdict.SUSPECT else 0
        cell[2] += scans if verdict == Verdict.POSITIVE else 0
        cell[3] += float(kg)
        cell[4] += inspected
    return out


def add_cells(cells: dict[Key, list]) -> None:
    """Add [scans, seized_kg, inspected_positive] to each daily cell and to its week and month, creating rows as
    needed: one statement per table and chunk, tables always in the same order (daily, weekly, monthly) and rows
    sorted, so two workers lock the same rows in the same order."""
    if not cells:
        return
    _upsert_sql(
        DailyRollup._meta.db_table,
        ["day", "port_id", "origin_id", "verdict"],
        ["scans", "seized_kg", "inspected_positive"],
        [(d, p, o, v, scans, float(kg), inspected) for (d, p, o, v), (scans, kg, inspected) in sorted(cells.items())],
    )
    for period, model in PERIOD_MODELS.items():
        _upsert_sql(
            model._meta.db_table,
            ["start", "port_id", "origin_id"],
            ["scans", "suspect", "positive", "seized_kg", "inspected_positive"],
            [(*key, *values) for key, values in sorted(period_cells(cells, period).items())],
        )


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
    add_cells(_scan_cells(scans, outcomes))


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
    add_cells({key: [0, delta_kg, positive]})


def subtract_cells(cells: dict[Key, list]) -> None:
    """Take [scans, seized_kg, inspected_positive] away from cells that count them (an upsert cannot: the
    row it would insert breaks the non-negative checks before the conflict is seen). Same table and row
    order as `add_cells`; kilograms never go below zero through float rounding."""
    for (day, port, origin, verdict), (scans, kg, inspected) in sorted(cells.items()):
        DailyRollup.objects.filter(day=day, port_id=port, origin_id=origin, verdict=verdict).update(
            scans=F("scans") - scans,
            seized_kg=Greatest(F("seized_kg") - float(kg), 0.0),
            inspected_positive=F("inspected_positive") - inspected,
        )
    for model in PERIOD_MODELS.values():
        period = "week" if model is WeeklyRollup else "month"
        for (start, port, origin), (scans, suspect, positive, kg, inspected) in sorted(
            period_cells(cells, period).items()
        ):
            model.objects.filter(start=start, port_id=port, origin_id=origin).update(
                scans=F("scans") - scans,
                suspect=F("suspect") - suspect,
                positive=F("positive") - positive,
                seized_kg=Greatest(F("seized_kg") - float(kg), 0.0),
                inspected_positive=F("inspected_positive") - inspected,
            )


def _scan_cells(scans, outcomes) -> dict[Key, list]:
    cells: dict[Key, list] = defaultdict(lambda: [0, 0.0, 0])
    for scan in scans:
        outcome = outcomes.get(scan.pk)
        cell = cells[(_day(scan.scanned_at), scan.port_id, scan.origin_id, scan.verdict)]
        cell[0] += 1
        cell[1] += _scan_kg(scan.seized_kg, outcome)
        cell[2] += int(outcome is not None and outcome.result == OutcomeResult.POSITIVE)
    return cells


def on_integrity_change(newly_failed: list, cleared: list) -> None:
    """Verifier hook, inside its marking transaction: a relayed scan found invalid leaves the rollups, one
    found valid again comes back (the cells `on_relay` adds)."""
    ids = [*newly_failed, *cleared]
    if not ids:
        return
    # Wait for a relay holding these outbox rows: once it commits, its scans count and are taken out here;
    # a relay claiming them after this commit sees the flag and skips the invalid ones.
    relayed = set(
        ScanOutbox.objects.select_for_update()
        .filter(scan_id__in=ids, processed_at__isnull=False)
        .values_list("scan_id", flat=True)
    )
    scans = list(Scan.objects.filter(pk__in=relayed).only("scanned_at", "port_id", "origin_id", "verdict", "seized_kg"))
    outcomes = {o.scan_id: o for o in InspectionOutcome.objects.filter(scan_id__in=relayed)}
    failed = set(newly_failed)
    subtract_cells(_scan_cells([s for s in scans if s.pk in failed], outcomes))
    add_cells(_scan_cells([s for s in scans if s.pk not in failed], outcomes))


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
    rebuild_periods(since)
    return len(cells)


def snapshot(since: date | None = None) -> dict[Key, tuple[int, float, int]]:
    """The stored rollups as {cell: (scans, kg rounded to 1 g, inspected_positive)} (tests, rebuild checks)."""
    qs = DailyRollup.objects.filter(Q(day__gte=since) if since else Q()).values_list(
        "day", "port_id", "origin_id", "verdict", "scans", "seized_kg", "inspected_positive"
    )
    return {(d, p, o, v): (s, round(k, 3), i) for d, p, o, v, s, k, i in qs if s or k or i}


@transaction.atomic
def rebuild_periods(since: date | None = None) -> int:
    """Recompute the weekly and monthly rollups (all, or the periods holding `since` and later) from the daily
    rollups; returns the number of rows written. `rebuild` calls it after the daily cells."""
    written = 0
    for period, model in PERIOD_MODELS.items():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {model._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        first = period_start(since, period) if since is not None else None
        existing = model.objects.all()
        daily = DailyRollup.objects.all()
        if first is not None:
            existing = existing.filter(start__gte=first)
            daily = daily.filter(day__gte=first)
        existing.delete()
        trunc = TruncWeek if period == "week" else TruncMonth
        rows = (
            daily.annotate(start=trunc("day", output_field=DateField()))
            .values("start", "port_id", "origin_id")
            .annotate(
                n=Sum("scans"),
                n_suspect=Sum("scans", filter=Q(verdict=Verdict.SUSPECT), default=0),
                n_positive=Sum("scans", filter=Q(verdict=Verdict.POSITIVE), default=0),
                kg=Sum("seized_kg"),
                inspected=Sum("inspected_positive"),
            )
            .order_by("start", "port_id", "origin_id")
        )
        batch: list[Any] = []  # rows of this period's model
        for r in rows.iterator(chunk_size=5000):
            batch.append(
                model(
                    start=r["start"],
                    port_id=r["port_id"],
                    origin_id=r["origin_id"],
                    scans=r["n"],
                    suspect=r["n_suspect"],
                    positive=r["n_positive"],
                    seized_kg=r["kg"],
                    inspected_positive=r["inspected"],
                )
            )
            if len(batch) >= 5000:
                model.objects.bulk_create(batch)
                written, batch = written + len(batch), []
        model.objects.bulk_create(batch)
        written += len(batch)
    return written


def period_snapshot(period: str) -> dict[PeriodKey, tuple[int, int, int, float, int]]:
    """A period table as {(start, port, origin): (scans, suspect, positive, kg rounded to 1 g, inspected)}."""
    qs = PERIOD_MODELS[period].objects.values_list(
        "start", "port_id", "origin_id", "scans", "suspect", "positive", "seized_kg", "inspected_positive"
    )
    return {(d, p, o): (n, s, pos, round(k, 3), i) for d, p, o, n, s, pos, k, i in qs if n or k or i}


def period_recount(period: str) -> dict[PeriodKey, tuple[int, int, int, float, int]]:
    """The daily rollups summed per period in Python (independent of the SQL of `rebuild_periods`; tests)."""
    cells = {
        (d, p, o, v): [n, k, i]
        for d, p, o, v, n, k, i in DailyRollup.objects.values_list(
            "day", "port_id", "origin_id", "verdict", "scans", "seized_kg", "inspected_positive"
        )
    }
    out = period_cells(cells, period)
    return {key: (n, s, pos, round(k, 3), i) for key, (n, s, pos, k, i) in out.items() if n or k or i}
