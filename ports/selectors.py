"""Reads for reference data and members."""

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import (
    Agency,
    ApiToken,
    Invitation,
    InvitationStatus,
    Membership,
    Port,
    Role,
    Sector,
    TokenKind,
    UserProfile,
)

# Set on `request.user` by token authentication: the one membership a personal token acts under.
TOKEN_MEMBERSHIP_ATTR = "token_membership_id"


def token_membership_id(user) -> int | None:
    """The membership a request authenticated by a personal token is limited to; None for a session."""
    return getattr(user, TOKEN_MEMBERSHIP_ATTR, None)


def active_memberships(user) -> QuerySet[Membership]:
    """The memberships `user` acts under now: all active ones in a session, the token's one for a token."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Membership.objects.none()
    qs = Membership.objects.filter(user=user, is_active=True, agency__is_active=True)
    scope = token_membership_id(user)
    if scope is not None:
        qs = qs.filter(pk=scope)
    return qs.select_related("agency", "agency__port")


def pending_invitations(user) -> QuerySet[Invitation]:
    """Invitations waiting for the account holder's answer, newest first."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Invitation.objects.none()
    return Invitation.objects.filter(user=user, status=InvitationStatus.PENDING, agency__is_active=True).select_related(
        "agency", "agency__port"
    )


def pending_invitation(user, invitation_id) -> Invitation:
    """One of the holder's own pending invitations; 404 for anyone else's, or one already answered."""
    try:
        pk = int(invitation_id)
    except (TypeError, ValueError):
        raise Http404("No such invitation.")
    invitation = pending_invitations(user).filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


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


def account_tokens(user) -> QuerySet[ApiToken]:
    """The holder's own live personal tokens, newest first (the raw value is never kept, so never shown)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ApiToken.objects.none()
    return (
        ApiToken.objects.filter(user=user, kind=TokenKind.PERSONAL, revoked_at__isnull=True)
        .select_related("membership__agency")
        .order_by("-created_at", "-id")[:200]
    )


def account_token(user, public_id) -> ApiToken:
    """One of the holder's own live tokens by its random id; 404 for anyone else's, a revoked or a malformed one."""
    import uuid

    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such token.")
    token = (
        ApiToken.objects.filter(user=user, kind=TokenKind.PERSONAL, revoked_at__isnull=True, public_id=key)
        .select_related("membership__agency")
        .first()
    )
    if token is None:
        raise Http404("No such token.")
    return token


def profile_of(user) -> UserProfile:
    profile, _created = UserProfile.objects.get_or_create(user=user)
    return profile
