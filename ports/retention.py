"""Retention policy (SPEC section 9, issue 8): how long each object kind is kept, and how far purges went.

The periods come from the `RETENTION_DAYS_*` settings (0 keeps a kind forever). The purge itself lives in
`sharing.services.retention`; this module holds the policy and the watermarks it leaves in `RetentionState`,
which `rebuild_rollups` reads so that it never recounts a day whose scans are partly gone.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Greatest
from django.utils import timezone

from .models import RetentionState

# Purge order: alerts take their own feedback with them, scans their own deliveries; the
# feedback and delivery rules then take what is left of those kinds. Notifications go last: a
# notice names what it is about (a container, an alert's agency) after the object itself is gone.
KINDS = ("alerts", "feedback", "scans", "deliveries", "notifications")
SETTING = {kind: f"RETENTION_DAYS_{kind.upper()}" for kind in KINDS}


@dataclass(frozen=True)
class Policy:
    kind: str
    days: int  # 0: kept forever
    cutoff: datetime | None  # objects older than this are purged; None when kept forever


def policies(now: datetime | None = None) -> list[Policy]:
    now = now or timezone.now()
    result = []
    for kind in KINDS:
        days = int(getattr(settings, SETTING[kind]))
        if days < 0:
            raise ValueError(f"{SETTING[kind]} must be 0 (keep forever) or a number of days, not {days}")
        result.append(Policy(kind, days, now - timedelta(days=days) if days else None))
    return result


def watermark(kind: str) -> datetime | None:
    return RetentionState.objects.filter(kind=kind).values_list("purged_before", flat=True).first()


def advance_watermark(kind: str, cutoff: datetime, *, lock_table: str | None = None) -> None:
    """Record that objects of `kind` older than `cutoff` may be purged; never moves backwards.

    Committed before the purge deletes anything. For scans the caller names the rollup table to
    lock, as `rebuild` does: a rebuild running now finishes first, and any later one sees the new
    watermark.
    """
    with transaction.atomic():
        if lock_table and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(lock_table)} IN SHARE ROW EXCLUSIVE MODE")
        state, created = RetentionState.objects.select_for_update().get_or_create(
            kind=kind, defaults={"purged_before": cutoff}
        )
        if not created and state.purged_before < cutoff:
            RetentionState.objects.filter(kind=kind).update(purged_before=Greatest("purged_before", cutoff))


def first_retained_scan_day() -> date | None:
    """The first UTC day whose scans are all still retained (None: no scan was ever purged).

    A day is whole when it starts at or after the scans watermark; the day the watermark falls in
    lost its early scans, so it is the last one skipped.
    """
    cutoff = watermark("scans")
    if cutoff is None:
        return None
    cutoff = cutoff.astimezone(UTC)
    day = cutoff.date()
    return day if cutoff == datetime.combine(day, time.min, tzinfo=UTC) else day + timedelta(days=1)
