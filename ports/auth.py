"""API authentication: personal and scanner-node tokens, stored hashed (SPEC section 2)."""

from datetime import timedelta
from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions

from .models import ApiToken, Membership, ScannerNode, TokenKind, hash_token
from .selectors import TOKEN_MEMBERSHIP_ATTR


class NodePrincipal:
    """The `request.user` of a scanner node: authenticated, but never a member."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    username = ""

    def __init__(self, node):
        self.node = node
        self.username = f"node:{node.id}"

    def __str__(self) -> str:
        return self.username

    def is_verified(self) -> bool:
        return False

    def has_perm(self, *args, **kwargs) -> bool:
        return False


class PeerPrincipal:
    """The `request.user` of a peer instance (SPEC 10.1): authenticated, never a member; `access` gives it the
    federation collection only, read as the agencies homed at that instance."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, instance: str):
        self.instance = instance
        self.username = f"peer:{instance}"

    def __str__(self) -> str:
        return self.username

    def is_verified(self) -> bool:
        return False

    def has_perm(self, *args, **kwargs) -> bool:
        return False


def _personal_principal(request, token: ApiToken):
    """The token's holder, limited to the token's one membership (SPEC section 2).

    `ports.selectors.active_memberships` reads the limit off the user object, so the reader,
    publishing, lists and every other membership check see that membership only.
    """
    membership = cast(Membership, token.membership)  # a personal token names its membership
    if not membership.is_active or not membership.agency.is_active or membership.user_id != token.user_id:
        raise exceptions.AuthenticationFailed(_("This token's membership has ended."))
    if token.read_only and request.method not in permissions.SAFE_METHODS:
        raise exceptions.PermissionDenied(_("This token is read-only."))
    user = token.user
    setattr(user, TOKEN_MEMBERSHIP_ATTR, membership.pk)
    return user


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` for both kinds; which endpoints accept which is the permissions' job."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        return self.authenticate_token(request, raw)

    def authenticate_token(self, request, raw: str):
        """The principal and token of a raw token, however it was presented (TAXII takes Bearer and Basic too)."""
        token = (
            ApiToken.objects.select_related(
                "user", "membership", "membership__agency", "node", "node__agency", "node__port"
            )
            .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            # At most one write a minute per token, not one per request.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        if token.kind == TokenKind.NODE:
            if not cast(ScannerNode, token.node).is_active:
                raise exceptions.AuthenticationFailed(_("This scanner node is deactivated."))
            request._request.scanner_node = token.node
            return NodePrincipal(token.node), token
        if token.kind == TokenKind.PEER:
            if request.method not in permissions.SAFE_METHODS:
                raise exceptions.PermissionDenied(_("A peer token only reads."))
            return PeerPrincipal(token.peer_instance), token
        if not cast(AbstractBaseUser, token.user).is_active:
            raise exceptions.AuthenticationFailed(_("This account is deactivated."))
        return _personal_principal(request, token), token

    def authenticate_header(self, request):
        return self.keyword
