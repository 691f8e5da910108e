"""Relay (SPEC section 6): from the outbox to deliveries and read grants, idempotently, in batches.

Outbox rows are claimed with `select_for_update(skip_locked=True)`, so two
workers (or a task and the sweep) never relay the same scan; deliveries are
unique per (scan, agency), so even a replay after a crash adds nothing.
"""

import logging
import uuid
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.utils import timezone

from alliance import hooks, metrics
from notifications.services import notify_agencies
from notifications.subjects import message
from ports.models import Agency, Sector
from ports.services import agency_group

from ..models import (
    VERDICT_RANK,
    Delivery,
    DeliveryReason,
    Scan,
    ScanGroupObjectPermission,
    ScanOutbox,
    Subscription,
    Verdict,
)

logger = logging.getLogger(__name__)

BATCH = 500
ALERTING = (Verdict.SUSPECT, Verdict.POSITIVE)


def _public_agencies_by_port(port_ids: set[str]) -> dict[str, list[int]]:
    by_port: dict[str, list[int]] = {}
    rows = Agency.objects.filter(port_id__in=port_ids, sector=Sector.PUBLIC, is_active=True, port__is_member=True)
    for agency_id, port_id in rows.values_list("id", "port_id"):
        by_port.setdefault(port_id, []).append(agency_id)
    return by_port


def _subscriptions() -> list[Subscription]:
    return list(
        Subscription.objects.filter(is_active=True, agency__sector=Sector.PUBLIC, agency__is_active=True).only(
            "agency_id", "port_id", "origin_id", "min_verdict"
        )
    )


def recipients(scan: Scan, by_port: dict[str, list[int]], subscriptions: list[Subscription]) -> dict[int, str]:
    """Agency id -> reason. Only public-sector agencies ever appear (the queries above say so)."""
    out: dict[int, str] = {}
    for agency_id in by_port.get(scan.port_id, []):
        out[agency_id] = DeliveryReason.PORT
    if scan.verdict in ALERTING:
        for port_id in [scan.next_port_id, *(scan.onward_route or [])]:
            for agency_id in by_port.get(port_id, []):
                out.setdefault(agency_id, DeliveryReason.ROUTE)
    rank = VERDICT_RANK[scan.verdict]
    for sub in subscriptions:
        if (
            VERDICT_RANK[sub.min_verdict] <= rank
            and sub.port_id in (None, scan.port_id)
            and sub.origin_id in (None, scan.origin_id)
        ):
            out.setdefault(sub.agency_id, DeliveryReason.SUBSCRIPTION)
    return out


def view_scan_permission() -> Permission:
    return Permission.objects.get(codename="view_scan", content_type__app_label=Scan._meta.app_label)


def grant_scan_read(*, scans_agencies: list[tuple[Scan, int]]) -> None:
    """Guardian grants on the agencies' groups (bulk; existing grants are left as they are)."""
    if not scans_agencies:
        return
    permission = view_scan_permission()
    agency_ids = {a for _, a in scans_agencies}
    groups = dict(Agency.objects.filter(pk__in=agency_ids, group__isnull=False).values_list("id", "group_id"))
    for agency in Agency.objects.filter(pk__in=agency_ids - set(groups)):
        groups[agency.pk] = agency_group(agency).pk
    if connection.vendor == "postgresql":
        # One INSERT ... SELECT FROM unnest for the batch: no model instance per grant (the relay's hot path).
        table = ScanGroupObjectPermission._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (permission_id, group_id, content_object_id) "
                "SELECT %s, t.g, t.s FROM unnest(%s::integer[], %s::uuid[]) AS t(g, s) ON CONFLICT DO NOTHING",
                [permission.pk, [groups[a] for _, a in scans_agencies], [s.pk for s, _ in scans_agencies]],
            )
        return
    ScanGroupObjectPermission.objects.bulk_create(
        [
            ScanGroupObjectPermission(group_id=groups[a], permission=permission, content_object=s)
            for s, a in scans_agencies
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def _deliver(rows: list[tuple[Scan, int, str]], now) -> None:
    """The deliveries (scan, agency id, reason); one already there is left as it is (a replay adds nothing)."""
    if connection.vendor == "postgresql":
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (id, scan_id, agency_id, reason, created_at) "
                "SELECT t.i, t.s, t.a, t.r, %s FROM unnest(%s::uuid[], %s::uuid[], %s::bigint[], %s::text[]) "
                "AS t(i, s, a, r) ON CONFLICT (scan_id, agency_id) DO NOTHING",
                [
                    now,
                    [uuid.uuid4() for _ in rows],
                    [s.pk for s, _, _ in rows],
                    [a for _, a, _ in rows],
                    [r for _, _, r in rows],
                ],
            )
        return
    Delivery.objects.bulk_create(
        [Delivery(scan=s, agency_id=a, reason=r, created_at=now) for s, a, r in rows],
        ignore_conflicts=True,
        batch_size=1000,
    )


def relay_batch(*, scan_ids: list | None = None, older_than=None, limit: int = BATCH, fill: bool = False) -> int:
    """Relay up to `limit` pending outbox rows (those named, or those older than `older_than`).

    `fill`: with named rows, fill the claim up to `limit` with the oldest other pending rows. Under load the
    worker then relays many single pushes in one batch (the per-batch queries paid once) and their own
    tasks, coming later, find them done and claim nothing."""
    now = timezone.now()
    with transaction.atomic():
        pending = ScanOutbox.objects.select_for_update(skip_locked=True).filter(processed_at__isnull=True)
        if scan_ids is not None:
            pending = pending.filter(scan_id__in=scan_ids)
        if older_than is not None:
            pending = pending.filter(created_at__lt=older_than)
        rows = list(pending.order_by("created_at").values_list("scan_id", "created_at")[:limit])
        if fill and scan_ids is not None and len(rows) < limit:
            others = ScanOutbox.objects.select_for_update(skip_locked=True).filter(processed_at__isnull=True)
            rows += (
                others.exclude(scan_id__in=scan_ids)
                .order_by("created_at")
                .values_list("scan_id", "created_at")[: limit - len(rows)]
            )
        if not rows:
            return 0
        claimed = [scan_id for scan_id, _ in rows]
        scans = list(
            Scan.objects.filter(pk__in=claimed).only(
                "id", "port_id", "origin_id", "next_port_id", "onward_route", "verdict", "scanned_at", "seized_kg"
            )
        )
        ports = {s.port_id for s in scans}
        for s in scans:
            if s.verdict in ALERTING:
                ports.update(p for p in [s.next_port_id, *(s.onward_route or [])] if p)
        by_port = _public_agencies_by_port(ports)
        subscriptions = _subscriptions()
        deliveries, grants = [], []
        for scan in scans:
            for agency_id, reason in recipients(scan, by_port, subscriptions).items():
                deliveries.append((scan, agency_id, reason))
                grants.append((scan, agency_id))
        _deliver(deliveries, now)
        grant_scan_read(scans_agencies=grants)
        _tell_inboxes(deliveries)
        hooks.run("relay_in_transaction", scans)
        ScanOutbox.objects.filter(pk__in=claimed).update(processed_at=now)
        delivery_ids = list(Delivery.objects.filter(scan_id__in=claimed).values_list("pk", flat=True))
        transaction.on_commit(lambda: run_after_relay_hooks(delivery_ids, claimed), robust=True)
        lags = [(now - accepted).total_seconds() for _, accepted in rows]
        transaction.on_commit(lambda: metrics.scans_relayed(lags))
    return len(claimed)


def _tell_inboxes(deliveries: list[tuple[Scan, int, str]]) -> None:
    """One notice per receiving agency and batch for suspect and positive scans (a clear scan is routine:
    a port's inbox takes every scan at that port, and a notice for each would bury the ones that matter)."""
    alerting = Counter(agency_id for scan, agency_id, _ in deliveries if scan.verdict in ALERTING)
    notify_agencies(
        kind="delivery",
        url="/inbox/",
        subjects={agency_id: message("delivery", count=count) for agency_id, count in alerting.items()},
    )


def run_after_relay_hooks(delivery_ids: list, scan_ids: list) -> None:
    """The `after_relay` hooks (alliance.hooks), each on its own: one failing does not stop the others."""
    for hook in hooks.hooks("after_relay"):
        try:
            hook(delivery_ids, scan_ids)
        except Exception:  # noqa: BLE001 - a broker outage must not undo a committed relay
            logger.warning("after-relay hook %s failed; the sweeps will catch up", hook, exc_info=True)


def pending_after() -> timedelta:
    """How long an outbox row waits for its own task before the sweep takes it (SPEC: two minutes)."""
    return timedelta(seconds=settings.RELAY_PENDING_AFTER_SECONDS)


def relay_sweep(*, budget_seconds: float = 50.0) -> int:
    """Beat, every minute: relay whatever has been pending for more than two minutes."""
    deadline = timezone.now() + timedelta(seconds=budget_seconds)
    wait = pending_after()  # read per run, so an operator's setting applies without a restart
    total = 0
    while timezone.now() < deadline:
        done = relay_batch(older_than=timezone.now() - wait)
        total += done
        if done == 0:
            break
    return total


def pending_count() -> int:
    return ScanOutbox.objects.filter(processed_at__isnull=True).count()
