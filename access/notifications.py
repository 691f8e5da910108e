"""Notifications: each member reads their own notices, across their active memberships (a token: its one)."""

from typing import Any

from django.db.models import QuerySet

from notifications.models import Notification

from .reader import reader_for


def notifications_for(user: Any) -> QuerySet[Notification]:
    """The user's own notices, newest first."""
    return Notification.objects.filter(membership_id__in=reader_for(user).membership_ids).select_related(
        "membership__agency"
    )


def unread_count(user: Any) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()
