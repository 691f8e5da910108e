"""Reads for the deliveries inbox and subscriptions, on top of the one access rule (`sharing.access`).

A reader sees the deliveries of their own public-sector agencies only, and only
of scans the access rule still lets them read (so a scan that failed its
integrity check drops out of the inbox exactly as it drops out of the scan list).
"""

import uuid

from django.db.models import QuerySet
from django.http import Http404

from ports.models import Membership, Role, Sector
from ports.selectors import active_memberships

from . import access, scan_documents
from .models import Delivery, Subscription
from .signing import SignatureStatus


def deliveries_visible_to(user) -> QuerySet[Delivery]:
    reader = access.reader_for(user)
    if not reader.is_public_sector:  # private sector, nodes, anonymous, superusers without a membership
        return Delivery.objects.none()
    return Delivery.objects.filter(
        agency_id__in=reader.public_agency_ids,
        scan__in=access.scans_visible_to(user).values("pk"),
    )


def delivery_rows(qs: QuerySet) -> QuerySet[Delivery]:
    """Everything a page of deliveries shows and verifies, in a fixed number of queries."""
    return qs.select_related(
        "agency",
        "acknowledged_by",
        "scan",
        "scan__node",
        "scan__key",
        "scan__outcome",
        "scan__outcome__key",
        "scan__outcome__agency",
    )


def delivery_filter(
    qs: QuerySet, *, verdict: str | None = None, port: str | None = None, acknowledged: bool | None = None
) -> QuerySet[Delivery]:
    if verdict:
        qs = qs.filter(scan__verdict=verdict)
    if port:
        qs = qs.filter(scan__port_id=port.strip().upper())
    if acknowledged is not None:
        qs = qs.filter(acknowledged_at__isnull=not acknowledged)
    return qs


def inbox(user, **filters) -> QuerySet[Delivery]:
    """The caller's agencies' inbox, newest first."""
    return delivery_rows(delivery_filter(deliveries_visible_to(user), **filters)).order_by("-created_at", "-id")


def signed_deliveries(user, deliveries) -> list[Delivery]:
    """Verify one page of scans; an invalid one stays visible only to its node agency's officers and admins.

    Sets `signature_status` on each delivery's scan.
    """
    guardians = access.integrity_agency_ids(access.reader_for(user))
    kept = []
    for delivery in deliveries:
        scan = delivery.scan
        scan.signature_status = scan_documents.signature_status(scan)
        if scan.signature_status == SignatureStatus.INVALID and scan.node.agency_id not in guardians:
            continue
        kept.append(delivery)
    return kept


def unacknowledged_count(user) -> int:
    return deliveries_visible_to(user).filter(acknowledged_at__isnull=True).count()


def get_delivery_for(user, delivery_id) -> Delivery:
    """One delivery of the caller's agencies; 404 alike for missing, another agency's, or malformed ids."""
    try:
        pk = uuid.UUID(str(delivery_id))
    except ValueError:
        raise Http404("No such delivery.")
    delivery = delivery_rows(deliveries_visible_to(user).filter(pk=pk)).first()
    if delivery is None or not signed_deliveries(user, [delivery]):
        # Missing, another agency's and failed-closed answer alike: existence does not leak.
        raise Http404("No such delivery.")
    return delivery


# ---------------------------------------------------------------- subscriptions


def admin_memberships(user) -> list[Membership]:
    """The caller's admin memberships of active public-sector agencies (who may manage subscriptions)."""
    return [m for m in active_memberships(user) if m.role == Role.ADMIN and m.agency_sector == Sector.PUBLIC]


def subscriptions_managed_by(user, *, include_inactive: bool = False) -> QuerySet[Subscription]:
    agency_ids = [m.agency_id for m in admin_memberships(user)]
    qs = Subscription.objects.filter(agency_id__in=agency_ids)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.select_related("agency", "port", "origin", "created_by").order_by("agency__slug", "-is_active", "id")


def get_subscription_for(user, subscription_id) -> Subscription:
    try:
        pk = int(str(subscription_id))
    except ValueError:
        raise Http404("No such subscription.")
    subscription = subscriptions_managed_by(user, include_inactive=True).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription
