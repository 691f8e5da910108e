"""Who may call which kind of endpoint: members, nodes, and second-factor admin sessions."""

from django.utils.translation import gettext_lazy
from rest_framework import permissions

from .auth import NodePrincipal, PeerPrincipal
from .models import ApiToken, TokenKind
from .selectors import active_memberships


def is_node_request(request) -> bool:
    return isinstance(request.auth, ApiToken) and request.auth.kind == TokenKind.NODE


def is_peer_request(request) -> bool:
    return isinstance(request.auth, ApiToken) and request.auth.kind == TokenKind.PEER


class IsPeer(permissions.BasePermission):
    """A peer instance's token (SPEC 10.1): the TAXII federation collection, nothing else."""

    def has_permission(self, request, view) -> bool:
        return is_peer_request(request) and isinstance(request.user, PeerPrincipal)


class IsMember(permissions.BasePermission):
    """A person with at least one active membership, by session or personal token. Nodes are refused."""

    message = gettext_lazy("This endpoint is for alliance members.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or isinstance(user, NodePrincipal | PeerPrincipal):
            return False
        if is_node_request(request) or is_peer_request(request):
            return False
        return active_memberships(user).exists()


class IsPublicSectorMember(IsMember):
    message = gettext_lazy("This endpoint is closed to the private sector.")

    def has_permission(self, request, view) -> bool:
        return (
            super().has_permission(request, view)
            and active_memberships(request.user).filter(agency_sector="public").exists()
        )


class IsNode(permissions.BasePermission):
    """A scanner node's token; anything else is treated as not authenticated."""

    def has_permission(self, request, view) -> bool:
        return is_node_request(request)


class IsVerifiedSession(IsMember):
    """Administrative actions: a portal session verified with the second factor, never a token."""

    message = gettext_lazy("Administrative actions need a portal session verified with the second factor.")

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.auth is not None:  # a token, not a session
            return False
        is_verified = getattr(request.user, "is_verified", None)
        return bool(is_verified and is_verified())


class IsVerifiedOperator(permissions.BasePermission):
    """The alliance operator (SPEC 10.1: peers): a superuser's portal session verified with the second factor."""

    message = gettext_lazy("This endpoint is for the alliance operator, in a session verified with the second factor.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or isinstance(user, NodePrincipal | PeerPrincipal):
            return False
        if request.auth is not None or not user.is_superuser:  # a token, not a session; or not the operator
            return False
        is_verified = getattr(user, "is_verified", None)
        return bool(is_verified and is_verified())
