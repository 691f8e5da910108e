"""Reads for trends (SPEC section 7): time series from rollups and statistics rows, masked per reader."""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DateField, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import access
from access import reader_for, release
from ports.locode import locode_error
from ports.models import Hub, Port
from scans.models import Verdict

from .analytics.displacement import evidence_growth
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
        errors[name] = [_("Not a LOCODE: %(codes)s.") % {"codes": ", ".join(bad)} if bad else _("At most 100 codes.")]
    return codes or None


def _date(value: str | None, name: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [_("A date is written YYYY-MM-DD.")]
        return None


def parse_trend_query(params) -> TrendQuery:
    """Validate the query string; a ValidationError names every bad parameter."""
    errors: dict[str, list[str]] = {}
    bucket = params.get("bucket") or "week"
    if bucket not in BUCKETS:
        errors["bucket"] = [_("One of %(choices)s.") % {"choices": ", ".join(BUCKETS)}]
    hub = params.get("hub") or None
    if hub and hub not in Hub.values:
        errors["hub"] = [_("One of %(choices)s.") % {"choices": ", ".join(Hub.values)}]
    ports = _codes(params.get("port"), "port", errors)
    origins = _codes(params.get("origin"), "origin", errors)
    until = _date(params.get("until"), "until", errors) or timezone.now().date()
    since = _date(params.get("since"), "since", errors) or until - timedelta(days=DEFAULT_DAYS - 1)
    if not errors:
        if since > until:
            errors["since"] = [_("since is after until.")]
        elif (until - since).days + 1 > MAX_DAYS[bucket]:
            errors["since"] = [
                _("At most %(days)s days with bucket=%(bucket)s.") % {"days": MAX_DAYS[bucket], "bucket": bucket}
            ]
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


def trend_values(q: TrendQuery, port_ids: list[str] | None = None) -> dict[str, dict[date, list[float]]]:
    """Exact values {port: {bucket: [scans, suspect, positive, kg]}} from rollups plus statistics.

    `port_ids`: these ports only (default: every port the query's filters select)."""
    port_ids = _port_scope(q) if port_ids is None else port_ids
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


def _exact_point(bucket: date, cell: list[float]) -> dict:
    return {
        "bucket": bucket.isoformat(),
        "scans": int(round(cell[0])),
        "suspect": int(round(cell[1])),
        "positive": int(round(cell[2])),
        "seized_kg": round(cell[3], 1),
        "cells_left_out": 0,
    }


def _exact_figures(cell: list[float]) -> release.Figures:
    return release.Figures(scans=cell[0], suspect=cell[1], positive=cell[2], seized_kg=cell[3])


def split_ports(reader, port_ids: list[str]) -> tuple[list[str], list[str]]:
    """(ports the reader sees exactly, ports the reader sees through release cells only)."""
    exact_ports = access.unmasked_ports(reader)
    if exact_ports is None:
        return list(port_ids), []
    return [p for p in port_ids if p in exact_ports], [p for p in port_ids if p not in exact_ports]


DAY_REFUSED = gettext_lazy(
    "Day buckets show only your own port's figures: choose week or month, or filter on your own port."
)


def trends_for(user, q: TrendQuery) -> dict:
    """The trends response for this reader (docs/trends-api.md): per port, and overall, one point per bucket.

    Ports the reader sees exactly (their own agencies' ports; every port for liaisons) come from the rollups;
    every other port only from its release cells (access.release), and so does its share of `overall`.
    A ValidationError on `bucket` refuses day buckets of another port.
    """
    exact_ids, outsider_ids = split_ports(reader_for(user), _port_scope(q))
    if q.bucket == "day" and outsider_ids:
        raise ValidationError({"bucket": [str(DAY_REFUSED)]})
    buckets = bucket_list(q.since, q.until, q.bucket)
    exact = trend_values(q, exact_ids)
    released = release.released_figures(
        ports=outsider_ids, origins=q.origins, since=q.since, until=q.until, bucket=q.bucket
    )
    figures = {p: {b: _exact_figures(c) for b, c in exact[p].items()} for p in exact}
    figures.update(released.by_port)
    port_rows = {p.locode: p for p in Port.objects.filter(locode__in=list(figures))}
    overall = {b: release.Figures() for b in buckets}
    masked_ports: dict[date, int] = defaultdict(int)
    ports_out = []
    for locode in sorted(figures):
        is_exact = locode in exact
        series = []
        for b in buckets:
            fig = figures[locode].get(b) or release.Figures()
            if is_exact:
                series.append(_exact_point(b, exact[locode][b]))
            else:
                series.append(release.point(b, fig))
            overall[b].add(fig)
            masked_ports[b] += fig.cells_left_out > 0
        port = port_rows[locode]
        ports_out.append(
            {
                "port": locode,
                "name": port.name,
                "hub": port.hub,
                "latitude": port.latitude,
                "longitude": port.longitude,
                "masked": not is_exact,
                "series": series,
            }
        )
    overall_out = []
    for b in buckets:
        fig = overall[b]
        overall_out.append(
            {
                "bucket": b.isoformat(),
                "scans": int(round(fig.scans)),
                "suspect": int(round(fig.suspect)),
                "positive": int(round(fig.positive)),
                "seized_kg": round(fig.seized_kg, 1),
                "masked_ports": masked_ports[b],
                "cells_left_out": fig.cells_left_out,
            }
        )
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
        "overall": overall_out,
        "ports": ports_out,
        "cells_left_out": released.cells_left_out,
    }


# ---------------------------------------------------------------- measures and flags


def measures_visible_to(user) -> QuerySet[Measure]:
    if not access.can_read_trends(user):
        return Measure.objects.none()
    return Measure.objects.select_related("agency").order_by("-starts_on", "-id")


def _flag_weeks(flag: DisplacementFlag) -> tuple[date, date]:
    """The Mondays of the flag's first and last evidence week (its windows, when it holds no evidence)."""
    weeks = [date.fromisoformat(str(row["week"])) for row in flag.evidence]
    if not weeks:
        return flag.window_before_start, flag.window_after_end - timedelta(days=7)
    return min(weeks), max(weeks)


def _exact_weeks(ports: list[str], origin: str, lo: date, hi: date) -> dict[date, release.Figures]:
    """Exact weekly figures summed over `ports` (the reader's own ports), as the detector reads them."""
    out: dict[date, release.Figures] = defaultdict(release.Figures)
    if not ports:
        return out
    q = TrendQuery(lo, hi + timedelta(days=6), "week", tuple(ports), (origin,), None)
    for per_bucket in trend_values(q, ports).values():
        for week, cell in per_bucket.items():
            out[week].add(_exact_figures(cell))
    return out


def _released_weeks(ports: list[str], origin: str, lo: date, hi: date) -> dict[date, release.Figures]:
    """Released weekly figures summed over `ports`."""
    out: dict[date, release.Figures] = defaultdict(release.Figures)
    figures = release.released_figures(ports=ports, origins=[origin], since=lo, until=hi, bucket="week")
    for per_bucket in figures.by_port.values():
        for week, fig in per_bucket.items():
            out[week].add(fig)
    return out


def flag_release_for(user, flag: DisplacementFlag) -> dict:
    """A flag's evidence rows and B's seized kg per window as this reader may see them.

    Liaisons read the stored figures. Anyone else reads A, B and the rest of the alliance (C: the other
    member ports) from the rollups: exactly for the reader's own ports, through release cells for every other
    port (access.release): a `<3` contributes nothing to a sum, and each row's `cells_left_out` says how many
    cells it left out. The stored evidence holds exact figures of other ports, so it is never shown to them.
    """
    exact_ports = access.unmasked_ports(reader_for(user))
    stored_seized: dict[str, float | int | str | None] = {
        "before": flag.seized_kg_before,
        "after": flag.seized_kg_after,
    }
    if exact_ports is None:
        rows = [{**row, "cells_left_out": 0} for row in flag.evidence]
        return {"evidence": rows, "seized": stored_seized, "growth": _growth(flag, rows)}
    lo, hi = _flag_weeks(flag)
    origin = flag.origin_id
    members = Port.objects.filter(is_member=True).exclude(locode__in=(flag.from_port_id, flag.to_port_id))
    others = list(members.values_list("locode", flat=True))
    sides = {}
    for side, ports in (("a", [flag.from_port_id]), ("b", [flag.to_port_id]), ("c", others)):
        own = [p for p in ports if p in exact_ports]
        outside = [p for p in ports if p not in exact_ports]
        weeks = _exact_weeks(own, origin, lo, hi)
        for week, fig in _released_weeks(outside, origin, lo, hi).items():
            weeks[week].add(fig)
        sides[side] = weeks
    rows = []
    for row in flag.evidence:
        week = date.fromisoformat(str(row["week"]))
        out = {"week": row["week"]}
        for side, weeks in sides.items():
            fig = weeks.get(week) or release.Figures()
            out[f"{side}_scans"] = release.show(fig.scans, fig.masked_scans)
            out[f"{side}_hits"] = release.show(fig.suspect + fig.positive, fig.masked_suspect + fig.masked_positive)
            out[f"{side}_seized_kg"] = release.show(fig.seized_kg, fig.masked_seized_kg, kg=True)
        out["cells_left_out"] = sum(weeks[week].cells_left_out for weeks in sides.values() if week in weeks)
        rows.append(out)
    seized: dict[str, float | int | str | None] = stored_seized
    if flag.to_port_id not in exact_ports:
        windows = {
            "before": (flag.window_before_start, flag.window_before_end),
            "after": (flag.window_after_start, flag.window_after_end),
        }
        seized = {}
        for name, (start, end) in windows.items():
            fig = release.total(f for week, f in sides["b"].items() if start <= week < end)
            seized[name] = release.show(fig.seized_kg, fig.masked_seized_kg, kg=True)
    return {"evidence": rows, "seized": seized, "growth": _growth(flag, rows)}


def _growth(flag: DisplacementFlag, rows: list[dict]) -> list[dict]:
    """The cumulative excess at B against C, from the evidence rows this reader sees (never from more)."""
    return evidence_growth(rows, flag.window_before_end, flag.window_after_start)


def flag_growth_for(user, flag: DisplacementFlag) -> list[dict]:
    """How the evidence grew week by week, as this reader may see it (flag_release_for)."""
    return flag_release_for(user, flag)["growth"]


def flag_evidence_for(user, flag: DisplacementFlag) -> list[dict]:
    """The evidence rows as this reader may see them (flag_release_for)."""
    return flag_release_for(user, flag)["evidence"]


def flag_seized_for(user, flag: DisplacementFlag) -> dict[str, float | None]:
    """B's seized kg per window as this reader may see them: from B's release cells for readers outside B
    (not liaisons); null where it is one cell's hidden weight (flag_release_for)."""
    return flag_release_for(user, flag)["seized"]
