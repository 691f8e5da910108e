"""Reads for reference data and members."""

from django.db.models import Q, QuerySet

from .models import Agency, Membership, Port, Role, Sector


def active_memberships(user) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, is_active=True, agency__is_active=True).select_related(
        "agency", "agency__port"
    )


def is_public_sector(user) -> bool:
    return active_memberships(user).filter(agency_sector=Sector.PUBLIC).exists()


def is_liaison(user) -> bool:
    return active_memberships(user).filter(role=Role.LIAISON).exists()


def memberships_with_role(user, *roles: str, public_only: bool = False) -> list[Membership]:
    """The user's active memberships holding one of `roles` (only in public-sector agencies with `public_only`).

    Ports' own pages ask this; every other app asks the reader (`access.reader_for(user).agencies_with_role`).
    """
    qs = active_memberships(user).filter(role__in=roles)
    if public_only:
        qs = qs.filter(agency_sector=Sector.PUBLIC)
    return list(qs)


def port_list(*, member: bool | None = None, hub: str | None = None) -> QuerySet[Port]:
    qs = Port.objects.all()
    if member is not None:
        qs = qs.filter(is_member=member)
    if hub:
        qs = qs.filter(hub=hub)
    return qs.order_by("locode")


def agency_list() -> QuerySet[Agency]:
    return Agency.objects.filter(is_active=True).select_related("port").order_by("slug")


def member_directory(*, agency: str | None = None, q: str | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.filter(is_active=True, user__is_active=True).select_related("agency", "user")
    if agency:
        qs = qs.filter(agency__slug=agency)
    for word in (q or "").split()[:5]:
        # Every word must match somewhere: "An Peeters" finds first and last name together.
        qs = qs.filter(
            Q(handle__icontains=word)
            | Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(agency__slug__icontains=word)
            | Q(agency__name__icontains=word)
        )
    return qs.order_by("agency__slug", "handle")


def display_name(user) -> str:
    return user.get_full_name() or user.username
