"""Reads for trends (SPEC section 7): time series from rollups and statistics rows, masked per reader."""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DateField, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

import access
from access import reader_for
from ports.locode import locode_error
from ports.models import Hub, Port
from scans.models import Verdict

from .models import DailyRollup, DisplacementFlag, Measure, MonthlyRollup, StatisticsRow, WeeklyRollup

BUCKETS = ("day", "week", "month")
MAX_DAYS = {"day": 366, "week": 1827, "month": 1827}
DEFAULT_DAYS = 365
MEASURES = ("scans", "suspect", "positive")


@dataclass(frozen=True)
class TrendQuery:
    since: date
    until: date
    bucket: str
    ports: tuple[str, ...] | None
    origins: tuple[str, ...] | None
    hub: str | None


def _codes(value: str | None, name: str, errors: dict) -> tuple[str, ...] | None:
    if not value:
        return None
    codes = tuple(sorted({c.strip().upper() for c in value.split(",") if c.strip()}))
    bad = [c for c in codes if locode_error(c)]
    if bad or len(codes) > 100:
        errors[name] = [f"Not a LOCODE: {', '.join(bad)}." if bad else "At most 100 codes."]
    return codes or None


def _date(value: str | None, name: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = ["A date is written YYYY-MM-DD."]
        return None


def parse_trend_query(params) -> TrendQuery:
    """Validate the query string; a ValidationError names every bad parameter."""
    errors: dict[str, list[str]] = {}
    bucket = params.get("bucket") or "week"
    if bucket not in BUCKETS:
        errors["bucket"] = [f"One of {', '.join(BUCKETS)}."]
    hub = params.get("hub") or None
    if hub and hub not in Hub.values:
        errors["hub"] = [f"One of {', '.join(Hub.values)}."]
    ports = _codes(params.get("port"), "port", errors)
    origins = _codes(params.get("origin"), "origin", errors)
    until = _date(params.get("until"), "until", errors) or timezone.now().date()
    since = _date(params.get("since"), "since", errors) or until - timedelta(days=DEFAULT_DAYS - 1)
    if not errors:
        if since > until:
            errors["since"] = ["since is after until."]
        elif (until - since).days + 1 > MAX_DAYS[bucket]:
            errors["since"] = [f"At most {MAX_DAYS[bucket]} days with bucket={bucket}."]
    if errors:
        raise ValidationError(errors)
    # Whole buckets only: a range that cut a week or a month would let a reader difference two answers
    # (Monday–Sunday minus Tuesday–Sunday) and recover a count the `<3` rule hides.
    since = bucket_of(since, bucket)
    until = bucket_end(until, bucket)
    return TrendQuery(since, until, bucket, ports, origins, hub)


def bucket_of(d: date, bucket: str) -> date:
    if bucket == "week":
        return d - timedelta(days=d.weekday())
    if bucket == "month":
        return d.replace(day=1)
    return d


def bucket_end(d: date, bucket: str) -> date:
    """The last day of the bucket holding `d`."""
    if bucket == "week":
        return bucket_of(d, bucket) + timedelta(days=6)
    if bucket == "month":
        return (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return d


def bucket_list(since: date, until: date, bucket: str) -> list[date]:
    out, current = [], bucket_of(since, bucket)
    while current <= until:
        out.append(current)
        if bucket == "day":
            current += timedelta(days=1)
        elif bucket == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _port_scope(q: TrendQuery) -> list[str]:
    ports = Port.objects.filter(is_member=True)
    if q.ports:
        ports = ports.filter(locode__in=q.ports)
    if q.hub:
        ports = ports.filter(hub=q.hub)
    return list(ports.values_list("locode", flat=True))


def rollup_cells(q: TrendQuery, port_ids: list[str]) -> QuerySet:
    """(port, bucket) -> scans, suspect, positive, kg: one indexed range query, aggregated in the database."""
    qs = DailyRollup.objects.filter(day__gte=q.since, day__lte=q.until, port_id__in=port_ids)
    if q.origins:
        qs = qs.filter(origin_id__in=q.origins)
    if q.bucket == "week":
        qs = qs.annotate(bucket=TruncWeek("day", output_field=DateField()))
    elif q.bucket == "month":
        qs = qs.annotate(bucket=TruncMonth("day", output_field=DateField()))
    else:
        qs = qs.annotate(bucket=F("day"))
    return (
        qs.values("port_id", "bucket")
        .annotate(
            n_scans=Sum("scans"),
            n_suspect=Sum("scans", filter=Q(verdict=Verdict.SUSPECT)),
            n_positive=Sum("scans", filter=Q(verdict=Verdict.POSITIVE)),
            kg=Sum("seized_kg"),
        )
        .order_by()
    )


def spread_statistics(rows, since: date, until: date, bucket: str):
    """Yield (port, origin, bucket, share) for each statistics row: its days inside the range, pro rata."""
    for row in rows:
        days = (row.period_end - row.period_start).days + 1
        lo, hi = max(row.period_start, since), min(row.period_end, until)
        per_bucket: dict[date, int] = defaultdict(int)
        d = lo
        while d <= hi:
            per_bucket[bucket_of(d, bucket)] += 1
            d += timedelta(days=1)
        for b, n in per_bucket.items():
            yield row, b, n / days


def statistics_rows(q: TrendQuery, port_ids: list[str]) -> QuerySet[StatisticsRow]:
    qs = StatisticsRow.objects.filter(period_end__gte=q.since, period_start__lte=q.until, port_id__in=port_ids)
    if q.origins:
        qs = qs.filter(origin_id__in=q.origins)
    return qs.only("period_start", "period_end", "port_id", "origin_id", "scans", "suspect", "positive", "seized_kg")


# Whole weeks and months are read from the period rollups (kept with the daily ones, equal to their sums);
# False reads every day from the daily rollups, as before them (tests compare both; bench/bench_trends.py).
PERIOD_ROLLUPS = True


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _split_weeks(lo: date, hi: date) -> list[tuple[str, date, date]]:
    """[lo, hi] as whole ISO weeks (("week", first Monday, last Monday)) plus the days around them."""
    monday = lo + timedelta(days=(7 - lo.weekday()) % 7)  # the first Monday on or after lo
    sunday = hi - timedelta(days=(hi.weekday() + 1) % 7)  # the last Sunday on or before hi
    if monday + timedelta(days=6) > sunday:
        return [("day", lo, hi)]
    spans = [("day", lo, monday - timedelta(days=1)), ("week", monday, sunday - timedelta(days=6))]
    spans.append(("day", sunday + timedelta(days=1), hi))
    return [s for s in spans if s[1] <= s[2]]


def read_plan(since: date, until: date, bucket: str) -> list[tuple[str, date, date]]:
    """Where each day of [since, until] is read from: ("month" | "week", first start, last start) spans of whole
    periods in the period rollups, and ("day", first, last) spans in the daily rollups. Every day exactly once;
    with bucket=month no week span crosses a month's end, so sums per bucket are those of the daily table."""
    if not PERIOD_ROLLUPS or bucket == "day":
        return [("day", since, until)]
    if bucket == "week":
        return _split_weeks(since, until)
    first = since if since.day == 1 else _next_month(since)  # the first whole month
    end = _next_month(until) if _next_month(until) - timedelta(days=1) == until else until.replace(day=1)
    spans, pieces = [], []  # pieces: (lo, hi) of days within one month, outside the whole months
    if first < end:
        spans.append(("month", first, (end - timedelta(days=1)).replace(day=1)))
        pieces = [(since, first - timedelta(days=1)), (end, until)]
    else:
        boundary = _next_month(since)
        pieces = [(since, min(until, boundary - timedelta(days=1))), (boundary, until)]
    for lo, hi in pieces:
        if lo <= hi:
            spans += _split_weeks(lo, hi)
    return spans


def _span_cells(kind: str, lo: date, hi: date, q: TrendQuery, port_ids: list[str]):
    """Rows {port_id, bucket, n_scans, n_suspect, n_positive, kg} of one span of the read plan."""
    if kind == "day":
        yield from rollup_cells(replace(q, since=lo, until=hi), port_ids)
        return
    model = MonthlyRollup if kind == "month" else WeeklyRollup
    qs = model.objects.filter(start__gte=lo, start__lte=hi, port_id__in=port_ids)
    if q.origins:
        qs = qs.filter(origin_id__in=q.origins)
    rows = (
        qs.values("port_id", "start")
        .annotate(n_scans=Sum("scans"), n_suspect=Sum("suspect"), n_positive=Sum("positive"), kg=Sum("seized_kg"))
        .order_by()
    )
    for values in rows:
        row: dict[str, Any] = dict(values)
        row["bucket"] = bucket_of(row.pop("start"), q.bucket)
        yield row


def trend_values(q: TrendQuery) -> dict[str, dict[date, list[float]]]:
    """Exact values {port: {bucket: [scans, suspect, positive, kg]}} from rollups plus statistics."""
    port_ids = _port_scope(q)
    values: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0, 0.0, 0.0]))
    if not port_ids:
        return values
    rows = (row for span in read_plan(q.since, q.until, q.bucket) for row in _span_cells(*span, q, port_ids))
    for row in rows:
        cell = values[row["port_id"]][row["bucket"]]
        cell[0] += row["n_scans"] or 0
        cell[1] += row["n_suspect"] or 0
        cell[2] += row["n_positive"] or 0
        cell[3] += row["kg"] or 0.0
    for row, b, share in spread_statistics(statistics_rows(q, port_ids), q.since, q.until, q.bucket):
        cell = values[row.port_id][b]
        cell[0] += row.scans * share
        cell[1] += row.suspect * share
        cell[2] += row.positive * share
        cell[3] += row.seized_kg * share
    return values


def _point(bucket: date, cell: list[float], exact: bool) -> dict:
    scans, suspect, positive = (int(round(v)) for v in cell[:3])
    kg = round(cell[3], 1)
    hits = suspect + positive
    return {
        "bucket": bucket.isoformat(),
        "scans": access.mask_count(scans, exact),
        "suspect": access.mask_count(suspect, exact),
        "positive": access.mask_count(positive, exact),
        "seized_kg": kg if exact or hits == 0 or hits >= 3 else None,
    }


def trends_for(user, q: TrendQuery) -> dict:
    """The trends response for this reader (docs/trends-api.md): per port, and overall, one point per bucket."""
    reader = reader_for(user)
    exact_ports = access.unmasked_ports(reader)
    buckets = bucket_list(q.since, q.until, q.bucket)
    values = trend_values(q)
    port_rows = {p.locode: p for p in Port.objects.filter(locode__in=list(values))}
    overall: dict[date, dict[str, Any]] = {
        b: {"bucket": b.isoformat(), "scans": 0, "suspect": 0, "positive": 0, "seized_kg": 0.0} for b in buckets
    }
    masked_count: dict[date, int] = defaultdict(int)
    ports_out = []
    for locode in sorted(values):
        exact = exact_ports is None or locode in exact_ports
        series = []
        for b in buckets:
            point = _point(b, values[locode].get(b, [0.0, 0.0, 0.0, 0.0]), exact)
            series.append(point)
            total, masked = overall[b], False
            for name in (*MEASURES, "seized_kg"):
                if isinstance(point[name], str) or point[name] is None:
                    masked = True  # left out: subtracting the visible ports would reveal it
                else:
                    total[name] += point[name]
            masked_count[b] += masked
        port = port_rows[locode]
        ports_out.append(
            {
                "port": locode,
                "name": port.name,
                "hub": port.hub,
                "latitude": port.latitude,
                "longitude": port.longitude,
                "masked": not exact,
                "series": series,
            }
        )
    for b in buckets:
        overall[b]["seized_kg"] = round(overall[b]["seized_kg"], 1)
        overall[b]["masked_ports"] = masked_count[b]
    return {
        "bucket": q.bucket,
        "since": q.since.isoformat(),
        "until": q.until.isoformat(),
        "buckets": [b.isoformat() for b in buckets],
        "filters": {
            "port": list(q.ports) if q.ports else None,
            "origin": list(q.origins) if q.origins else None,
            "hub": q.hub,
        },
        "overall": [overall[b] for b in buckets],
        "ports": ports_out,
    }


# ---------------------------------------------------------------- measures and flags


def measures_visible_to(user) -> QuerySet[Measure]:
    if not access.can_read_trends(user):
        return Measure.objects.none()
    return Measure.objects.select_related("agency").order_by("-starts_on", "-id")


def flag_evidence_for(user, flag: DisplacementFlag) -> list[dict]:
    """The evidence rows with A's and B's small counts masked for readers outside that port (not liaisons)."""
    reader = reader_for(user)
    exact_ports = access.unmasked_ports(reader)
    exact = {
        "a": exact_ports is None or flag.from_port_id in exact_ports,
        "b": exact_ports is None or flag.to_port_id in exact_ports,
    }
    out = []
    for row in flag.evidence:
        row = dict(row)
        for side in ("a", "b"):
            if exact[side]:
                continue
            scans, hits = int(row[f"{side}_scans"]), int(row[f"{side}_hits"])
            row[f"{side}_scans"] = access.mask_count(scans, False)
            row[f"{side}_hits"] = access.mask_count(hits, False)
            if 0 < hits < 3:
                row[f"{side}_seized_kg"] = None
        out.append(row)
    return out


def flag_seized_for(user, flag: DisplacementFlag) -> dict[str, float | None]:
    """B's seized kg per window; hidden (None) from readers outside B (not liaisons) when B's hits in that
    window are 1 or 2, as in the evidence rows: one seizure's weight identifies it."""
    exact_ports = access.unmasked_ports(reader_for(user))
    figures: dict[str, float | None] = {"before": flag.seized_kg_before, "after": flag.seized_kg_after}
    if exact_ports is None or flag.to_port_id in exact_ports:
        return figures
    windows = {
        "before": (flag.window_before_start, flag.window_before_end),
        "after": (flag.window_after_start, flag.window_after_end),
    }
    for name, (start, end) in windows.items():
        hits = sum(
            int(row["b_hits"]) for row in flag.evidence if start.isoformat() <= str(row["week"]) < end.isoformat()
        )
        if 0 < hits < 3:
            figures[name] = None
    return figures
