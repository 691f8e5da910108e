"""Writes behind the agency administration pages: what an agency admin may change, each change audited.

The general services (`ports.services`) do the work; these add the admin's
limits (own agency only, no liaison grants, existing accounts by invitation only)
and the node operations the pages offer.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, services
from .keys import parse_public_key
from .models import Agency, ApiToken, KeyOwner, KeyStatus, Membership, Role, ScannerNode, SigningKey

User = get_user_model()

# Roles an agency admin hands out; `liaison` is granted by the alliance operator (SPEC section 2).
ADMIN_GRANTABLE_ROLES = (Role.ANALYST, Role.OFFICER, Role.ADMIN)


def _check_role(role: str) -> None:
    if role not in ADMIN_GRANTABLE_ROLES:
        raise ValidationError({"role": [_("Choose analyst, officer or admin; the alliance operator grants liaison.")]})


@transaction.atomic
def admin_member_add(
    *, agency: Agency, username: str, role: str, display_name: str = "", email: str = "", actor
) -> tuple[Membership, str]:
    """Create a new account in the agency; its one-time password is returned once.

    An existing account is never added here: its holder is invited and joins by accepting
    (`admin_member_invite`). An agency admin never sets the password, name or e-mail of a person
    who may already belong to another agency.
    """
    _check_role(role)
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": [_("Give a username.")]})
    User.username_validator(username)
    if User.objects.filter(username=username).exists():
        # Usernames are unique, so creating one cannot hide that it is taken; nothing more is said.
        raise ValidationError(
            {"username": [_("This username cannot be used for a new account. To add a person who has one, invite it.")]}
        )
    password = secrets.token_urlsafe(12)
    membership = services.member_add(
        username=username,
        agency=agency,
        role=role,
        password=password,
        display_name=display_name.strip(),
        email=email.strip(),
        actor=actor,
    )
    return membership, password


@transaction.atomic
def admin_member_invite(*, agency: Agency, username: str, role: str, actor) -> None:
    """Invite an existing account; its holder joins by accepting after signing in (SPEC section 2).

    Answers the same whether or not the account exists, is disabled or already has a pending
    invitation: the agency learns nothing of the account until its holder accepts. The only
    refusals concern people the agency already knows: its own current members and former liaisons.
    """
    _check_role(role)
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": [_("Give a username.")]})
    known = Membership.objects.filter(agency=agency, user__username=username).first()
    if known is not None and known.is_active:
        raise ValidationError(
            {
                "username": [
                    _("%(username)s is already a member of %(agency)s.") % {"username": username, "agency": agency.slug}
                ]
            }
        )
    if known is not None and known.role == Role.LIAISON:
        raise ValidationError({"username": [_("A liaison is reinstated by the alliance operator.")]})
    services.invitation_send(agency=agency, username=username, role=role, actor=actor)


@transaction.atomic
def admin_member_role_change(*, membership: Membership, role: str, actor) -> Membership:
    _check_role(role)
    if membership.user_id == getattr(actor, "pk", None):
        raise ValidationError({"role": [_("You cannot change your own role; ask another admin.")]})
    if not membership.is_active:
        raise ValidationError({"role": [_("This membership is offboarded; add the person again instead.")]})
    if membership.role == Role.LIAISON:
        raise ValidationError({"role": [_("A liaison's role is managed by the alliance operator.")]})
    return services.member_add(username=membership.user.username, agency=membership.agency, role=role, actor=actor)


@transaction.atomic
def admin_member_offboard(*, membership: Membership, actor) -> int:
    """Offboard a member; returns how many of the membership's API tokens were revoked."""
    if membership.user_id == getattr(actor, "pk", None):
        raise ValidationError({"membership": [_("You cannot offboard yourself; ask another admin.")]})
    if not membership.is_active:
        raise ValidationError({"membership": [_("This member is already offboarded.")]})
    live = ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).count()
    services.member_offboard(membership=membership, actor=actor)
    return live


@transaction.atomic
def admin_token_revoke(*, token: ApiToken, actor) -> None:
    if token.revoked_at is not None:
        raise ValidationError({"token": [_("This token is already revoked.")]})
    services.token_revoke(token=token, actor=actor)


def _check_node_active(node: ScannerNode) -> None:
    if not node.is_active:
        raise ValidationError({"node": [_("This node is deactivated; register a new node instead.")]})


@transaction.atomic
def node_key_replace(*, node: ScannerNode, public_key: str, actor) -> SigningKey:
    """An admin registers the node's new public key: the old one is retired (old scans still verify)."""
    _check_node_active(node)
    try:
        x = parse_public_key(public_key)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"public_key": [_("Not an Ed25519 public key: %(error)s.") % {"error": exc}]}) from exc
    if SigningKey.objects.filter(x=x).exists():
        raise ValidationError({"public_key": [_("This public key is already registered; a key is registered once.")]})
    for old in SigningKey.objects.select_for_update().filter(node=node, status=KeyStatus.ACTIVE):
        services._key_retire(old, actor)
    # The same two steps as `services.node_key_rotate`, with the admin (not the node) as the actor.
    return services._key_create(owner_kind=KeyOwner.NODE, x=x, node=node, actor=actor)


@transaction.atomic
def node_token_reissue(*, node: ScannerNode, actor) -> str:
    """Revoke every token of the node and issue a new one (returned once)."""
    _check_node_active(node)
    for token in ApiToken.objects.select_for_update().filter(node=node, revoked_at__isnull=True):
        services.token_revoke(token=token, actor=actor)
    _token, raw = services.token_issue(node=node, name="reissued", actor=actor)
    return raw


@transaction.atomic
def node_deactivate(*, node: ScannerNode, actor) -> ScannerNode:
    """Stop a node: its tokens stop working at once (authentication checks the node) and are revoked."""
    if not node.is_active:
        raise ValidationError({"node": [_("This node is already deactivated.")]})
    node.is_active = False
    node.save(update_fields=["is_active"])
    ApiToken.objects.filter(node=node, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(actor, "node.deactivated", node, {"agency": node.agency.slug})
    return node
