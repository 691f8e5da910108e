"""Reads behind the agency administration pages: members, tokens, keys and nodes of the admin's own agency.

The two access reports (who can read, who did read) are `access.reports`, shown by `sharing.report_views`.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from .models import Agency, ApiToken, KeyOwner, Membership, Role, ScannerNode, SigningKey, TokenKind
from .selectors import active_memberships

User = get_user_model()


def admin_agencies(user) -> list[Agency]:
    """The agencies `user` administers (active admin memberships)."""
    return [m.agency for m in active_memberships(user).filter(role=Role.ADMIN).order_by("agency__slug")]


def admin_agency(user, slug: str) -> Agency:
    """The agency named, when `user` is its admin; 404 for any other (existence does not leak)."""
    for agency in admin_agencies(user):
        if agency.slug == slug:
            return agency
    raise Http404("No such agency.")


def owns_nodes(agency: Agency) -> bool:
    return agency.kind in ("customs", "port_authority") and agency.port_id is not None


# ---------------------------------------------------------------- members, tokens, keys, nodes


def agency_members(agency: Agency) -> QuerySet[Membership]:
    """Every membership of the agency, active first, with the membership's own live token count.

    Invitations are not memberships: an account invited and not yet accepted is not listed.
    """
    return (
        Membership.objects.filter(agency=agency)
        .select_related("user")
        .annotate(token_count=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True)))
        .order_by("-is_active", "role", "user__username")
    )


def agency_member(agency: Agency, membership_id) -> Membership:
    try:
        pk = int(membership_id)
    except (TypeError, ValueError):
        raise Http404("No such member.")
    membership = Membership.objects.select_related("user", "agency").filter(agency=agency, pk=pk).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def agency_member_tokens(agency: Agency) -> QuerySet[ApiToken]:
    """Live personal tokens of the agency's active memberships: never a member's tokens for another agency."""
    return (
        ApiToken.objects.filter(
            kind=TokenKind.PERSONAL,
            revoked_at__isnull=True,
            membership__agency=agency,
            membership__is_active=True,
        )
        .select_related("user", "membership")
        .order_by("user__username", "-created_at")
    )


def agency_membership_tokens(membership: Membership) -> QuerySet[ApiToken]:
    """Live tokens of one membership (what offboarding it revokes)."""
    return ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).order_by("-created_at")


def agency_member_token(agency: Agency, token_id) -> ApiToken:
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise Http404("No such token.")
    token = agency_member_tokens(agency).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


def agency_keys(agency: Agency) -> QuerySet[SigningKey]:
    return SigningKey.objects.filter(owner_kind=KeyOwner.AGENCY, agency=agency).order_by("-created_at", "kid")


def agency_key(agency: Agency, kid: str) -> SigningKey:
    key = agency_keys(agency).filter(kid=kid).first()
    if key is None:
        raise Http404("No such key.")
    return key


def agency_nodes(agency: Agency) -> QuerySet[ScannerNode]:
    """The agency's nodes with their counters (accepted = stored scans) and live token count."""
    return (
        ScannerNode.objects.filter(agency=agency)
        .select_related("counter")
        .annotate(
            accepted=Count("scans", distinct=True),
            live_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True), distinct=True),
            last_push=Max("scans__received_at"),
        )
        .prefetch_related("keys")
        .order_by("-is_active", "id")
    )


def agency_node(agency: Agency, node_id: str) -> ScannerNode:
    node = ScannerNode.objects.select_related("agency").filter(agency=agency, pk=node_id).first()
    if node is None:
        raise Http404("No such node.")
    return node
