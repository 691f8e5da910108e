from django.db.models import QuerySet

from ports.selectors import active_memberships

from .models import Notification


def notifications_for(user) -> QuerySet[Notification]:
    """The user's own notices, across their active memberships, newest first."""
    return Notification.objects.filter(membership__in=active_memberships(user).values("pk")).select_related(
        "membership__agency"
    )


def unread_count(user) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()
