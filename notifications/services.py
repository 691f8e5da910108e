"""Creating and marking notices. Callers decide who may be told; the subject must say nothing the
recipient could not read (name the object, link to it; the page behind the link applies the access rule)."""

from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from ports.models import Membership, Role

from .models import Notification


def recipients(
    *, agencies: Iterable[int] = (), memberships: Iterable[int] = (), roles: Iterable[str] = ()
) -> list[int]:
    """Active memberships of the given agencies (optionally only some roles), plus the given memberships."""
    agencies, memberships, roles = list(agencies), list(memberships), list(roles)
    if not agencies and not memberships:
        return []
    by_agency = Q(agency_id__in=agencies)
    if roles:
        by_agency &= Q(role__in=roles)
    qs = Membership.objects.filter(is_active=True, user__is_active=True, agency__is_active=True).filter(
        by_agency | Q(id__in=memberships)
    )
    return sorted(set(qs.values_list("id", flat=True)))


def liaison_memberships() -> list[int]:
    return list(
        Membership.objects.filter(
            is_active=True, user__is_active=True, agency__is_active=True, role=Role.LIAISON
        ).values_list("id", flat=True)
    )


def notify(
    *,
    kind: str,
    subject: str,
    url: str = "",
    agencies: Iterable[int] = (),
    memberships: Iterable[int] = (),
    roles: Iterable[str] = (),
) -> int:
    """One notice per recipient membership; returns how many were created."""
    ids = recipients(agencies=agencies, memberships=memberships, roles=roles)
    Notification.objects.bulk_create(
        [Notification(membership_id=m, kind=kind, subject=subject[:240], url=url[:300]) for m in ids]
    )
    return len(ids)


def mark_read(*, user, notification_id: int | None = None) -> int:
    """Marks one (or, with no id, all) of the user's unread notices as read; returns how many changed."""
    from access import notifications_for

    qs = notifications_for(user).filter(read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(id=notification_id)
    return qs.update(read_at=timezone.now())
