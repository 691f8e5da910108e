"""The retention purge (SPEC section 9): delete what the policy no longer keeps, in bounded batches.

Alerts go by their last version's time (and never while still valid), with their versions, audience and
identifier rows, feedback and correlation notices. Scans go by `scanned_at`, with their inspection outcome,
relay outbox row, read grants, deliveries (and so their webhook attempts) and correlation notices.
Deliveries (inbox rows) and feedback also go on their own, by `created_at`. Each batch is its own short
transaction; a run appends one audit entry per kind with the cut-off and the counts. Nothing here touches
the audit log's entries or the rollups (SPEC: never deleted); the scans watermark tells `rebuild_rollups`
which days it must leave as they are.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from alliance import hooks
from ports import audit
from ports.retention import Policy, advance_watermark, policies
from scans.models import Delivery, InspectionOutcome, Scan
from sharing.models import Alert, AlertVersion, Feedback
from trends.models import DailyRollup

BATCH = 500


@dataclass
class Purged:
    kind: str
    days: int
    cutoff: datetime | None
    count: int = 0  # objects of this kind deleted (or that would be, on a dry run)
    # Rows deleted along with them, by model label (what Django's collector reports; on a dry run the
    # direct dependents counted up front).
    along: Counter[str] = field(default_factory=Counter)

    def audit_data(self) -> dict:
        return {
            "kind": self.kind,
            "retention_days": self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "purged": self.count,
            "along": dict(sorted(self.along.items())),
        }


def expired_alerts(cutoff: datetime) -> QuerySet:
    """Alerts whose last version is older than the cut-off and that are no longer valid (if they ever had an end)."""
    return Alert.objects.filter(created_at__lt=cutoff).filter(Q(valid_until__isnull=True) | Q(valid_until__lt=cutoff))


def expired_feedback(cutoff: datetime) -> QuerySet:
    return Feedback.objects.filter(created_at__lt=cutoff)


def expired_scans(cutoff: datetime) -> QuerySet:
    return Scan.objects.filter(scanned_at__lt=cutoff)


def expired_deliveries(cutoff: datetime) -> QuerySet:
    return Delivery.objects.filter(created_at__lt=cutoff)


def expired_notifications(cutoff: datetime) -> QuerySet:
    from notifications.models import Notification

    return Notification.objects.filter(created_at__lt=cutoff)


EXPIRED = {
    "alerts": expired_alerts,
    "feedback": expired_feedback,
    "scans": expired_scans,
    "deliveries": expired_deliveries,
    "notifications": expired_notifications,
}

# Rows that refer to a kind with on_delete=PROTECT: deleted first, in the same batch transaction.
PROTECTED_CHILDREN: dict[str, list[tuple[type[Feedback] | type[AlertVersion] | type[InspectionOutcome], str]]] = {
    "alerts": [(Feedback, "alert_id__in"), (AlertVersion, "alert_id__in")],
    "scans": [(InspectionOutcome, "scan_id__in")],
}


def _label(model: type[Model]) -> str:
    return model._meta.label


def _purge_kind(policy: Policy, *, batch_size: int) -> Purged:
    assert policy.cutoff is not None  # run() skips the kinds kept forever
    result = Purged(policy.kind, policy.days, policy.cutoff)
    expired = EXPIRED[policy.kind]
    model: type[Any] = expired(policy.cutoff).model  # a concrete model: `objects` is its manager
    while True:
        with transaction.atomic():
            # Lock the batch and re-check it: a row that changed since (a new alert version) stays.
            ids = list(
                expired(policy.cutoff).select_for_update().order_by("pk").values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            hooks.run("purging", policy.kind, ids)  # SPEC 10.2: peers that held them get tombstones
            for child, lookup in PROTECTED_CHILDREN.get(policy.kind, []):
                _, counts = child.objects.filter(**{lookup: ids}).delete()
                result.along.update(counts)
            _, counts = model.objects.filter(pk__in=ids).delete()
        result.count += counts.pop(_label(model), 0)
        result.along.update({label: n for label, n in counts.items() if n})
    result.along = Counter({label: n for label, n in result.along.items() if n})
    return result


def _count_kind(policy: Policy, policies_by_kind: dict[str, Policy]) -> Purged:
    """What a run would delete now: the kind's own rows (less those an earlier kind takes) and direct dependents."""
    assert policy.cutoff is not None  # run() skips the kinds kept forever
    result = Purged(policy.kind, policy.days, policy.cutoff)
    qs = EXPIRED[policy.kind](policy.cutoff)
    alerts, scans = policies_by_kind["alerts"].cutoff, policies_by_kind["scans"].cutoff
    if policy.kind == "feedback" and alerts is not None:
        qs = qs.exclude(alert__in=expired_alerts(alerts))
    if policy.kind == "deliveries" and scans is not None:
        qs = qs.exclude(scan__in=expired_scans(scans))
    result.count = qs.count()
    ids = qs.values("pk")
    if policy.kind == "alerts":
        result.along[_label(Feedback)] = Feedback.objects.filter(alert__in=ids).count()
        result.along[_label(AlertVersion)] = AlertVersion.objects.filter(alert__in=ids).count()
    elif policy.kind == "scans":
        result.along[_label(InspectionOutcome)] = InspectionOutcome.objects.filter(scan__in=ids).count()
        result.along[_label(Delivery)] = Delivery.objects.filter(scan__in=ids).count()
    result.along = Counter({label: n for label, n in result.along.items() if n})
    return result


def purge_expired(*, now: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH) -> list[Purged]:
    """Purge every kind past its retention; safe to run twice (the second run finds nothing).

    On a dry run nothing is deleted, audited or recorded: the counts say what a run would delete now.
    """
    now = now or timezone.now()
    plan = policies(now)
    by_kind = {p.kind: p for p in plan}
    results = []
    for policy in plan:
        if policy.cutoff is None:
            result = Purged(policy.kind, policy.days, None)
        elif dry_run:
            result = _count_kind(policy, by_kind)
        else:
            # The watermark first: from now on rebuild_rollups leaves these days alone.
            # Scans: lock the rollup table as `rebuild_rollups` does (see advance_watermark).
            lock = DailyRollup._meta.db_table if policy.kind == "scans" else None
            advance_watermark(policy.kind, policy.cutoff, lock_table=lock)
            result = _purge_kind(policy, batch_size=batch_size)
        if not dry_run:
            audit.record(
                None,
                "retention.purged",
                data=result.audit_data(),
                object_type="retention",
                object_id=policy.kind,
            )
        results.append(result)
    return results
