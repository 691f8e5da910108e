"""Release cells (SPEC section 7, "Small counts"): the only figures an outsider gets about a port.

A reader who belongs to none of a port's own public-sector agencies and is no liaison sees that port only
through release cells: one per (ISO week, port, origin) -- the weekly rollup plus any imported statistics row
of exactly one week -- and one per statistics row longer than a week, at its own period. In a cell a count of
1 or 2 is `<3`, and `seized_kg` is null when `suspect + positive` is 1 or 2. Every figure built from cells
(months, several origins, ports or hubs, totals, rates, displacement evidence, CSV, map) sums the released
values only: a `<3` contributes nothing, and the figure says how many cells it left out. Each figure is thus a
function of the released cells, so two alliances that differ only in a hidden count (1 rather than 2) give an
outsider the same answers everywhere (tests/trends/test_release_cells_property.py).

A week cell belongs to the bucket of its Monday (for `bucket=month`, the month holding that Monday); a longer
statistics cell is spread over its days pro rata, as for insiders (a share of a released value reveals
nothing more). Cost: week cells are masked and summed in the database, one grouped query over the period
rollups' (port, start) index; one-week statistics rows (rare: ports with scanners import none) correct their
week's cell in Python, and longer statistics rows, a few per port and origin, are masked one by one.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Case, Count, DateField, F, Field, FloatField, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth

from trends.models import StatisticsRow, WeeklyRollup

MASK = "<3"
SMALL = (1, 2)
WEEK_DAYS = 7

# suspect + positive in (1, 2), over non-negative counts.
_SMALL_HITS = reduce(or_, [Q(suspect=s, positive=p) for s in range(3) for p in range(3) if s + p in SMALL])
_ANY_SMALL = Q(scans__in=SMALL) | Q(suspect__in=SMALL) | Q(positive__in=SMALL) | _SMALL_HITS


@dataclass(slots=True)
class Figures:
    """Released sums over some release cells, and what was left out of them.

    `masked_<measure>`: how many cells held that measure as `<3` (or a null kg); `cells_left_out`: how many
    cells had any value left out.
    """

    scans: float = 0.0
    suspect: float = 0.0
    positive: float = 0.0
    seized_kg: float = 0.0
    masked_scans: int = 0
    masked_suspect: int = 0
    masked_positive: int = 0
    masked_seized_kg: int = 0
    cells_left_out: int = 0

    def add(self, other: "Figures", share: float = 1.0, sign: int = 1) -> None:
        """Add `other` (its released values times `share`; its left-out counts whole), or subtract it.

        Spelled out rather than looped over fields(): it runs once per port and bucket of a response."""
        scale = share * sign
        self.scans += other.scans * scale
        self.suspect += other.suspect * scale
        self.positive += other.positive * scale
        self.seized_kg += other.seized_kg * scale
        self.masked_scans += other.masked_scans * sign
        self.masked_suspect += other.masked_suspect * sign
        self.masked_positive += other.masked_positive * sign
        self.masked_seized_kg += other.masked_seized_kg * sign
        self.cells_left_out += other.cells_left_out * sign


def cell_figures(scans: int, suspect: int, positive: int, seized_kg: float) -> Figures:
    """One release cell: a count of 1 or 2 is left out, and the kg with it when suspect + positive is 1 or 2."""
    small = [v in SMALL for v in (scans, suspect, positive, suspect + positive)]
    return Figures(
        scans=0 if small[0] else scans,
        suspect=0 if small[1] else suspect,
        positive=0 if small[2] else positive,
        seized_kg=0.0 if small[3] else seized_kg,
        masked_scans=int(small[0]),
        masked_suspect=int(small[1]),
        masked_positive=int(small[2]),
        masked_seized_kg=int(small[3]),
        cells_left_out=int(any(small)),
    )


def show(value: float, masked: int, *, kg: bool = False) -> float | int | str | None:
    """A released sum as shown: `<3` (null for kg) when it is one `<3` cell and nothing else, else the sum.

    Both cases depend on released values only (how many cells were `<3` is itself released).
    """
    if masked == 1 and not value:
        return None if kg else MASK
    return round(value, 1) if kg else int(round(value))


def point(bucket: date, fig: Figures) -> dict[str, object]:
    """A trends point (docs/trends-api.md) from released figures."""
    return {
        "bucket": bucket.isoformat(),
        "scans": show(fig.scans, fig.masked_scans),
        "suspect": show(fig.suspect, fig.masked_suspect),
        "positive": show(fig.positive, fig.masked_positive),
        "seized_kg": show(fig.seized_kg, fig.masked_seized_kg, kg=True),
        "cells_left_out": fig.cells_left_out,
    }


def _released(field: str, small: Q, output: "Field[Any, Any]") -> Sum:
    return Sum(Case(When(small, then=Value(0, output_field=output)), default=F(field), output_field=output))


def _week_cells(
    ports: Iterable[str], origins: Iterable[str] | None, since: date, until: date, bucket: str
) -> QuerySet[Any, Any]:
    """Rows {port_id, bucket, r_<Figures field>} of the week cells with a Monday in [since, until]: released sums
    and masked counts (prefixed: an annotation may not take a field's name)."""
    qs = WeeklyRollup.objects.filter(start__gte=since, start__lte=until, port_id__in=list(ports))
    if origins:
        qs = qs.filter(origin_id__in=list(origins))
    label = TruncMonth("start", output_field=DateField()) if bucket == "month" else F("start")
    integer, real = IntegerField(), FloatField()
    return (
        qs.annotate(bucket=label)
        .values("port_id", "bucket")
        .annotate(
            r_scans=_released("scans", Q(scans__in=SMALL), integer),
            r_suspect=_released("suspect", Q(suspect__in=SMALL), integer),
            r_positive=_released("positive", Q(positive__in=SMALL), integer),
            r_seized_kg=_released("seized_kg", _SMALL_HITS, real),
            r_masked_scans=Count("id", filter=Q(scans__in=SMALL)),
            r_masked_suspect=Count("id", filter=Q(suspect__in=SMALL)),
            r_masked_positive=Count("id", filter=Q(positive__in=SMALL)),
            r_masked_seized_kg=Count("id", filter=_SMALL_HITS),
            r_cells_left_out=Count("id", filter=_ANY_SMALL),
        )
        .order_by()
    )


def _bucket_of(d: date, bucket: str) -> date:
    if bucket == "month":
        return d.replace(day=1)
    return d - timedelta(days=d.weekday())


def statistics_week(row: StatisticsRow) -> date:
    """The ISO week (its Monday) whose cell holds a one-week statistics row: the week of its middle day."""
    middle = row.period_start + timedelta(days=3)
    return middle - timedelta(days=middle.weekday())


def _spread(row: StatisticsRow, since: date, until: date, bucket: str) -> Iterable[tuple[date, float]]:
    """(bucket, share) of a statistics row's days inside [since, until], pro rata."""
    days = (row.period_end - row.period_start).days + 1
    per_bucket: dict[date, int] = defaultdict(int)
    d = max(row.period_start, since)
    while d <= min(row.period_end, until):
        per_bucket[_bucket_of(d, bucket)] += 1
        d += timedelta(days=1)
    return [(b, n / days) for b, n in per_bucket.items()]


def _add_statistics(
    out: dict[str, dict[date, Figures]],
    ports: Iterable[str],
    origins: Iterable[str] | None,
    since: date,
    until: date,
    bucket: str,
) -> int:
    """Statistics cells into `out`: one-week rows merged into their week cell, longer rows as their own cells.

    Returns how many times a longer cell left out was counted in more than one bucket (for the distinct total).
    """
    repeats = 0
    qs = StatisticsRow.objects.filter(
        port_id__in=list(ports), period_end__gte=since - timedelta(days=WEEK_DAYS), period_start__lte=until
    )
    if origins:
        qs = qs.filter(origin_id__in=list(origins))
    weekly: dict[tuple[date, str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    for row in qs.only(
        "period_start", "period_end", "port_id", "origin_id", "scans", "suspect", "positive", "seized_kg"
    ):
        if row.days > WEEK_DAYS:
            fig = cell_figures(row.scans, row.suspect, row.positive, row.seized_kg)
            spread = list(_spread(row, since, until, bucket))
            for b, share in spread:
                out[row.port_id][b].add(fig, share)
            repeats += fig.cells_left_out * max(len(spread) - 1, 0)
            continue
        week = statistics_week(row)
        if since <= week <= until:
            cell = weekly[(week, row.port_id, row.origin_id)]
            for i, v in enumerate((row.scans, row.suspect, row.positive, row.seized_kg)):
                cell[i] += v
    if not weekly:
        return repeats
    # The week's rollup cell, already counted alone by _week_cells: replace it with the merged cell.
    keys = reduce(or_, [Q(start=w, port_id=p, origin_id=o) for w, p, o in weekly])
    rollups = WeeklyRollup.objects.filter(keys).values_list(
        "start", "port_id", "origin_id", "scans", "suspect", "positive", "seized_kg"
    )
    for week, port, origin, *values in rollups:
        scans, suspect, positive, kg = values
        out[port][_bucket_of(week, bucket)].add(cell_figures(int(scans), int(suspect), int(positive), kg), sign=-1)
        cell = weekly[(week, port, origin)]
        for i, v in enumerate(values):
            cell[i] += v
    for (week, port, _origin), (scans, suspect, positive, kg) in weekly.items():
        out[port][_bucket_of(week, bucket)].add(cell_figures(int(scans), int(suspect), int(positive), kg))
    return repeats


@dataclass
class Release:
    """Released figures {port: {bucket: Figures}}, and how many distinct cells they left out."""

    by_port: dict[str, dict[date, Figures]]
    cells_left_out: int


def released_figures(
    *, ports: Iterable[str], origins: Iterable[str] | None, since: date, until: date, bucket: str
) -> Release:
    """The release cells of these ports and origins (None: every origin), summed per port and bucket.

    `bucket` is "week" or "month"; [since, until] is whole buckets (week cells whose Monday is inside count).
    """
    out: dict[str, dict[date, Figures]] = defaultdict(lambda: defaultdict(Figures))
    ports = list(ports)
    if not ports:
        return Release(out, 0)
    origins = list(origins) if origins else None
    names = [f.name for f in fields(Figures)]
    for row in _week_cells(ports, origins, since, until, bucket):
        out[row["port_id"]][row["bucket"]].add(Figures(**{n: row[f"r_{n}"] or 0 for n in names}))
    repeats = _add_statistics(out, ports, origins, since, until, bucket)
    counted = sum(fig.cells_left_out for per_bucket in out.values() for fig in per_bucket.values())
    return Release(out, counted - repeats)


def total(figures: Iterable[Figures]) -> Figures:
    out = Figures()
    for fig in figures:
        out.add(fig)
    return out
