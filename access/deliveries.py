"""Deliveries and subscriptions: a reader sees the deliveries of their own public-sector agencies only, and only
of scans the access rule still lets them read (so a scan that failed its integrity check drops out of the inbox
exactly as it drops out of the scan list). Subscriptions are their agencies' admins' (public sector only).
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from ports.models import Membership, Role
from scans.models import Delivery, Subscription

from .reader import reader_for
from .scans import scans_visible_to, verified_scans


def deliveries_visible_to(user: Any) -> QuerySet[Delivery]:
    reader = reader_for(user)
    if not reader.is_public_sector:  # private sector, nodes, anonymous, superusers without a membership
        return Delivery.objects.none()
    return Delivery.objects.filter(
        agency_id__in=reader.public_agency_ids,
        scan__in=scans_visible_to(user).values("pk"),
    )


def delivery_rows(qs: QuerySet[Delivery]) -> QuerySet[Delivery]:
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


def signed_deliveries(user: Any, deliveries: Iterable[Delivery]) -> list[Delivery]:
    """Verify one page of scans; an invalid one stays visible only to its node agency's officers and admins.

    Sets `signature_status` on each delivery's scan.
    """
    rows = list(deliveries)
    kept = {scan.pk for scan in verified_scans(user, [d.scan for d in rows])}
    return [d for d in rows if d.scan.pk in kept]


def get_delivery_for(user: Any, delivery_id: object) -> Delivery:
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


def subscription_admin_agency_ids(user: Any) -> frozenset[int]:
    """Public-sector agencies whose subscriptions the caller manages (their admins)."""
    return reader_for(user).agencies_with_role(Role.ADMIN, public_only=True)


def subscription_admin_memberships(user: Any) -> list[Membership]:
    """The caller's admin memberships of public-sector agencies (who may manage subscriptions)."""
    reader = reader_for(user)
    agencies = subscription_admin_agency_ids(user)
    return [m for m in reader.memberships if m.agency_id in agencies and m.role == Role.ADMIN]


def subscriptions_managed_by(user: Any, *, include_inactive: bool = False) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(agency_id__in=subscription_admin_agency_ids(user))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.select_related("agency", "port", "origin", "created_by").order_by("agency__slug", "-is_active", "id")


def get_subscription_for(user: Any, subscription_id: object) -> Subscription:
    try:
        pk = int(str(subscription_id))
    except ValueError:
        raise Http404("No such subscription.")
    subscription = subscriptions_managed_by(user, include_inactive=True).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription
