"""Displacement flags (SPEC section 7): weekly series from the stored data, the detection core, stored flags.

The method lives in `trends.analytics.displacement` (pure numpy/scipy, docs/displacement.md); this module
feeds it the rollups, the statistics rows and the declared measures, and keeps its flags: identity
(from_port, to_port, origin, tightening), so a re-run updates a flag and never duplicates it; a run never
touches a flag's status (a dismissed flag stays dismissed); new flags notify the liaisons and the
public-sector agencies at both ports.
"""

import logging
from collections import defaultdict
from datetime import date, timedelta

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ports import audit
from ports.models import Agency, Port, Sector

from ..analytics import displacement as core
from ..models import DisplacementFlag, FlagStatus, Measure, StatisticsRow, TighteningSource, WeeklyRollup
from ..selectors import spread_statistics

logger = logging.getLogger(__name__)

CHANGEPOINT_TOLERANCE_DAYS = 21  # a change point may move by up to 3 weeks as data grow (same_tightening)


def weekly_rows() -> list[dict]:
    """Rows (week, port, origin, scans, hits, seized_kg) over the whole history: rollups plus statistics."""
    cells: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    # The weekly rollups are the daily ones summed per ISO week (trends.services.rollups), whole history.
    rollups = WeeklyRollup.objects.values_list(
        "start", "port_id", "origin_id", "scans", "suspect", "positive", "seized_kg"
    )
    for week, port, origin, scans, suspect, positive, kg in rollups.iterator(chunk_size=20000):
        cell = cells[(week, port, origin)]
        cell[0] += scans
        cell[1] += suspect + positive
        cell[2] += kg
    stats = list(StatisticsRow.objects.all())
    if stats:
        lo = min(s.period_start for s in stats)
        hi = max(s.period_end for s in stats)
        for row, week, share in spread_statistics(stats, lo, hi, "week"):
            cell = cells[(week, row.port_id, row.origin_id)]
            cell[0] += row.scans * share
            cell[1] += (row.suspect + row.positive) * share
            cell[2] += row.seized_kg * share
    return [
        {"week": w, "port": p, "origin": o, "scans": c[0], "hits": c[1], "seized_kg": c[2]}
        for (w, p, o), c in cells.items()
    ]


def declared_measures() -> list[core.Measure]:
    return [
        core.Measure(port, origin, starts_on)
        for port, origin, starts_on in Measure.objects.values_list("port_id", "origin_id", "starts_on")
    ]


def _evidence_json(evidence) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in evidence]


def _figures(flag: core.DisplacementFlag) -> dict:
    return {
        "window_before_start": flag.window_before[0],
        "window_before_end": flag.window_before[1],
        "window_after_start": flag.window_after[0],
        "window_after_end": flag.window_after[1],
        "lag_weeks": flag.lag_weeks,
        "wdq": float(flag.wdq),
        "effect": float(flag.effect),
        "p_value": float(flag.p_value),
        "p_raw": float(flag.p_raw),
        "confidence": flag.confidence,
        "seized_kg_before": float(flag.seized_kg_before),
        "seized_kg_after": float(flag.seized_kg_after),
        "evidence": _evidence_json(flag.evidence),
    }


def _existing(flag: core.DisplacementFlag) -> DisplacementFlag | None:
    """The stored flag with this identity; a change point matches within the tolerance (the nearest)."""
    tig = flag.tightening
    same = DisplacementFlag.objects.select_for_update().filter(
        from_port_id=flag.from_port, to_port_id=flag.to_port, origin_id=flag.origin, tightening_source=tig.source
    )
    if tig.source == TighteningSource.MEASURE:
        return same.filter(tightening_starts_on=tig.starts_on).first()
    tolerance = timedelta(days=CHANGEPOINT_TOLERANCE_DAYS)
    near = list(same.filter(tightening_starts_on__range=(tig.starts_on - tolerance, tig.starts_on + tolerance)))
    near.sort(key=lambda f: abs((f.tightening_starts_on - tig.starts_on).days))
    return near[0] if near else None


def store_flags(flags: list[core.DisplacementFlag]) -> tuple[list[DisplacementFlag], list[DisplacementFlag]]:
    """Upsert flags by identity; returns (created, updated). Status is never changed here."""
    now = timezone.now()
    created, updated = [], []
    for flag in flags:
        stored = _existing(flag)
        figures = _figures(flag)
        if stored is None:
            stored = DisplacementFlag.objects.create(
                from_port_id=flag.from_port,
                to_port_id=flag.to_port,
                origin_id=flag.origin,
                tightening_starts_on=flag.tightening.starts_on,
                tightening_source=flag.tightening.source,
                detected_at=now,
                updated_at=now,
                **figures,
            )
            created.append(stored)
            continue
        for name, value in figures.items():
            setattr(stored, name, value)
        stored.tightening_starts_on = flag.tightening.starts_on  # a change point that moved a little
        stored.updated_at = now
        stored.save(update_fields=[*figures, "tightening_starts_on", "updated_at"])
        updated.append(stored)
    return created, updated


def notify_new_flags(flags: list[DisplacementFlag]) -> int:
    """Tell the liaisons and the public-sector agencies at both ports about each new flag."""
    if not flags or not apps.is_installed("notifications"):
        return 0
    from notifications.services import liaison_memberships, notify
    from notifications.subjects import message

    liaisons = liaison_memberships()
    sent = 0
    for flag in flags:
        agencies = list(
            Agency.objects.filter(
                port_id__in=(flag.from_port_id, flag.to_port_id), sector=Sector.PUBLIC, is_active=True
            ).values_list("id", flat=True)
        )
        sent += notify(
            kind="displacement",
            subject=message(
                "displacement", from_port=flag.from_port_id, to_port=flag.to_port_id, origin=flag.origin_id
            ),
            url=flag.get_absolute_url(),
            agencies=agencies,
            memberships=liaisons,
        )
    return sent


def detect_and_store(since: date | None = None) -> dict:
    """One detection run over the whole history (`since`: examine only tightenings from that date)."""
    series = core.WeeklySeries.from_rows(weekly_rows())
    members = set(Port.objects.filter(is_member=True).values_list("locode", flat=True))
    flags = core.detect_displacement(series, members=members, measures=declared_measures(), since=since)
    with transaction.atomic():
        created, updated = store_flags(flags)
        notified = notify_new_flags(created)
    logger.info("displacement run: %d flags (%d new, %d updated)", len(flags), len(created), len(updated))
    return {"flags": len(flags), "created": len(created), "updated": len(updated), "notified": notified}


@transaction.atomic
def flag_set_status(*, user, flag: DisplacementFlag, status: str, reason: str) -> DisplacementFlag:
    """A liaison's decision (the caller checks the role): confirmed or dismissed, with a reason; audited."""
    if status not in (FlagStatus.CONFIRMED, FlagStatus.DISMISSED):
        raise ValidationError({"status": [_("One of confirmed, dismissed.")]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why.")]})
    flag = DisplacementFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status == FlagStatus.DISMISSED and status != FlagStatus.DISMISSED:
        raise ValidationError({"status": [_("This flag was dismissed; a dismissed flag stays dismissed.")]})
    previous = flag.status
    flag.status, flag.status_reason = status, reason
    flag.status_changed_at, flag.status_changed_by = timezone.now(), user
    flag.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"])
    audit.record(user, "displacement.status", flag, {"from": previous, "to": status, "reason": reason})
    return flag
