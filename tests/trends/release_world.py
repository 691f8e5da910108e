"""A small alliance written straight into the rollup tables, and a stored flag whose evidence the detector
would have computed from it (exact figures), for the small-count tests."""

from collections import defaultdict
from datetime import date, timedelta

from django.utils import timezone

from ports.models import Port
from trends.models import DailyRollup, DisplacementFlag, MonthlyRollup, StatisticsRow, WeeklyRollup

# (week's Monday, port, origin) -> (scans, suspect, positive, seized_kg)
Cells = dict[tuple[date, str, str], tuple[int, int, int, float]]


def write_cells(cells: Cells) -> None:
    """Daily (on the Monday), weekly and monthly rollups of these cells, as the relay keeps them."""
    daily, monthly = [], defaultdict(lambda: [0, 0, 0, 0.0])
    for (week, port, origin), (scans, suspect, positive, kg) in cells.items():
        verdicts = {"clear": scans - suspect - positive, "suspect": suspect, "positive": positive}
        kg_verdict = "positive" if positive else "suspect" if suspect else "clear"
        for verdict, n in verdicts.items():
            if n or verdict == kg_verdict and kg:
                daily.append(
                    DailyRollup(
                        day=week,
                        port_id=port,
                        origin_id=origin,
                        verdict=verdict,
                        scans=n,
                        seized_kg=kg if verdict == kg_verdict else 0.0,
                    )
                )
        month = monthly[(week.replace(day=1), port, origin)]
        for i, v in enumerate((scans, suspect, positive, kg)):
            month[i] += v
    DailyRollup.objects.bulk_create(daily)
    WeeklyRollup.objects.bulk_create(
        WeeklyRollup(start=w, port_id=p, origin_id=o, scans=s, suspect=su, positive=po, seized_kg=kg)
        for (w, p, o), (s, su, po, kg) in cells.items()
    )
    MonthlyRollup.objects.bulk_create(
        MonthlyRollup(start=m, port_id=p, origin_id=o, scans=s, suspect=su, positive=po, seized_kg=kg)
        for (m, p, o), (s, su, po, kg) in monthly.items()
    )


def write_statistics(rows: list[tuple[date, date, str, str, int, int, int, float]]) -> None:
    StatisticsRow.objects.bulk_create(
        StatisticsRow(
            period_start=start,
            period_end=end,
            port_id=port,
            origin_id=origin,
            scans=scans,
            suspect=suspect,
            positive=positive,
            seized_kg=kg,
            imported_at=timezone.now(),
        )
        for start, end, port, origin, scans, suspect, positive, kg in rows
    )


def _exact_week(cells: Cells, statistics, week: date, port: str, origin: str) -> list[float]:
    """[scans, hits, kg] of one port in one week: its cell plus statistics spread pro rata (the detector's)."""
    scans, suspect, positive, kg = cells.get((week, port, origin), (0, 0, 0, 0.0))
    out = [float(scans), float(suspect + positive), float(kg)]
    for start, end, p, o, s, su, po, k in statistics:
        if (p, o) != (port, origin):
            continue
        days = (end - start).days + 1
        inside = sum(1 for i in range(7) if start <= week + timedelta(days=i) <= end)
        out[0] += s * inside / days
        out[1] += (su + po) * inside / days
        out[2] += k * inside / days
    return out


def store_flag(cells: Cells, statistics, *, a: str, b: str, origin: str, weeks: list[date]) -> DisplacementFlag:
    """A flag A -> B on `origin` over `weeks` (before: the first half), its evidence exact as detected."""
    members = list(Port.objects.filter(is_member=True).values_list("locode", flat=True))
    evidence = []
    for week in weeks:
        row = {"week": week.isoformat()}
        sides = {"a": [a], "b": [b], "c": [p for p in members if p not in (a, b)]}
        for side, ports in sides.items():
            figures = [_exact_week(cells, statistics, week, p, origin) for p in ports]
            row[f"{side}_scans"], row[f"{side}_hits"], row[f"{side}_seized_kg"] = (
                sum(f[i] for f in figures) for i in range(3)
            )
        evidence.append(row)
    half = weeks[len(weeks) // 2]
    end = weeks[-1] + timedelta(days=7)
    b_kg = {w: _exact_week(cells, statistics, w, b, origin)[2] for w in weeks}
    now = timezone.now()
    return DisplacementFlag.objects.create(
        from_port_id=a,
        to_port_id=b,
        origin_id=origin,
        tightening_starts_on=half,
        tightening_source="measure",
        window_before_start=weeks[0],
        window_before_end=half,
        window_after_start=half,
        window_after_end=end,
        wdq=-0.5,
        effect=0.7,
        p_value=0.001,
        p_raw=0.0001,
        confidence="high",
        seized_kg_before=sum(kg for w, kg in b_kg.items() if w < half),
        seized_kg_after=sum(kg for w, kg in b_kg.items() if w >= half),
        evidence=evidence,
        detected_at=now,
        updated_at=now,
    )
