"""Reads for the deliveries inbox, on top of the one access rule (`access.deliveries`)."""

from django.db.models import QuerySet

import access

from .models import Delivery


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
    return access.delivery_rows(delivery_filter(access.deliveries_visible_to(user), **filters)).order_by(
        "-created_at", "-id"
    )


def unacknowledged_count(user) -> int:
    return access.deliveries_visible_to(user).filter(acknowledged_at__isnull=True).count()
