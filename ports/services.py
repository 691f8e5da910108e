"""Writes for reference data, members, nodes, keys and tokens. Every change is audited."""

import secrets
import zoneinfo
from datetime import timedelta
from typing import Any, cast

import pycountry
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .data_ports import MEMBER_PORTS, ORIGIN_PORTS
from .keys import encrypt_private_key, parse_public_key, public_x, thumbprint
from .locode import locode_error
from .models import (
    Agency,
    AgencyKind,
    ApiToken,
    EmailMode,
    Invitation,
    InvitationStatus,
    KeyOwner,
    KeyStatus,
    Membership,
    Port,
    Role,
    ScannerNode,
    Sector,
    SigningKey,
    TokenKind,
    UserProfile,
    hash_token,
    sector_of,
)
from .validation import clean_text

User = get_user_model()


def _country(code: str) -> str:
    return cast(Any, pycountry.countries.get(alpha_2=code)).alpha_2  # callers pass a validated country code


@transaction.atomic
def reference_ports_load() -> int:
    """Upsert the shipped member and origin ports. Idempotent."""
    count = 0
    for locode, name, hub, lat, lon in MEMBER_PORTS:
        Port.objects.update_or_create(
            locode=locode,
            defaults={
                "name": name,
                "country": _country(locode[:2]),
                "hub": hub,
                "latitude": lat,
                "longitude": lon,
                "is_member": True,
            },
        )
        count += 1
    for locode, name, lat, lon in ORIGIN_PORTS:
        Port.objects.update_or_create(
            locode=locode,
            defaults={
                "name": name,
                "country": _country(locode[:2]),
                "hub": None,
                "latitude": lat,
                "longitude": lon,
                "is_member": False,
            },
        )
        count += 1
    return count


def port_for_locode(locode: str) -> Port:
    """The port for a valid LOCODE; a valid code not yet known becomes a new non-member port."""
    error = locode_error(locode)
    if error:
        raise ValidationError({"locode": [error]})
    port = Port.objects.filter(locode=locode).first()
    if port is not None:
        return port
    try:
        with transaction.atomic():
            return Port.objects.create(locode=locode, name=locode, country=locode[:2], is_member=False)
    except IntegrityError:  # created concurrently
        return Port.objects.get(locode=locode)


def agency_slug(port: Port | None, kind: str) -> str:
    if port is None:
        raise ValidationError({"port": [_("Only EU-level agencies have no port; give them an explicit slug.")]})
    return f"{port.locode.lower()}-{kind.replace('_', '-')}"


def agency_group(agency: Agency):
    """The agency's auth group (created on first use): guardian grants go to groups, not people."""
    from django.contrib.auth.models import Group

    if agency.group_id is None:
        group, _ = Group.objects.get_or_create(name=f"agency:{agency.slug}")
        Agency.objects.filter(pk=agency.pk, group__isnull=True).update(group=group)
        agency.refresh_from_db(fields=["group"])
    return agency.group


@transaction.atomic
def agency_ensure(*, kind: str, port: Port | None, name: str, slug: str | None = None) -> Agency:
    slug = slug or agency_slug(port, kind)
    agency, created = Agency.objects.get_or_create(slug=slug, defaults={"name": name, "kind": kind, "port": port})
    if created:
        agency.full_clean(exclude=["group"])
        audit.record(None, "agency.created", agency, {"slug": slug, "kind": kind})
    agency_group(agency)
    return agency


@transaction.atomic
def member_add(
    *,
    username: str,
    agency: Agency,
    role: str,
    password: str | None = None,
    actor=None,
    display_name: str = "",
    email: str = "",
) -> Membership:
    """Create or update a member. `liaison` only in public-sector agencies."""
    if role not in Role.values:
        raise ValidationError(
            {
                "role": [
                    _("Unknown role %(role)s; choose one of %(choices)s.")
                    % {"role": repr(role), "choices": ", ".join(Role.values)}
                ]
            }
        )
    if role == Role.LIAISON and sector_of(agency.kind) != Sector.PUBLIC:
        raise ValidationError({"role": [_("The liaison role exists only in public-sector agencies.")]})
    user, created = User.objects.get_or_create(username=username)
    if display_name:
        first, _space, last = display_name.partition(" ")
        user.first_name, user.last_name = first, last
    if email:
        user.email = email
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.is_active = True
    user.save()
    UserProfile.objects.get_or_create(user=user)
    membership = Membership.objects.filter(user=user, agency=agency).first()
    if membership is None:
        membership = Membership(user=user, agency=agency, role=role)
        membership.save()
        audit.record(actor, "member.added", membership, {"user": username, "agency": agency.slug, "role": role})
    elif membership.role != role or not membership.is_active:
        old = membership.role
        membership.role, membership.is_active, membership.deactivated_at = role, True, None
        membership.save(update_fields=["role", "is_active", "deactivated_at", "agency_sector"])
        audit.record(
            actor, "member.role_changed", membership, {"user": username, "agency": agency.slug, "from": old, "to": role}
        )
    return membership


@transaction.atomic
def member_offboard(*, membership: Membership, actor) -> Membership:
    """Deactivate a membership and revoke its tokens (each token acts for that one membership only)."""
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    user = membership.user
    ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(actor, "member.offboarded", membership, {"user": user.username, "agency": membership.agency.slug})
    return membership


@transaction.atomic
def invitation_send(*, agency: Agency, username: str, role: str, actor) -> Invitation | None:
    """Invite an existing account to `agency` (SPEC section 2, consent): a pending membership.

    Returns the invitation, or None when there is nobody to invite (no such account, a disabled
    one). The caller must answer both alike: until the holder accepts, the agency learns nothing
    of the account, not even whether it exists.
    """
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        audit.record(actor, "member.invited", None, {"agency": agency.slug, "role": role, "username": username})
        return None
    invitation = (
        Invitation.objects.select_for_update().filter(agency=agency, user=user, status=InvitationStatus.PENDING).first()
    )
    if invitation is None:
        invitation = Invitation(agency=agency, user=user, role=role, invited_by=actor if actor else None)
    else:
        invitation.role = role  # inviting again replaces the role offered, never adds a second invitation
    invitation.full_clean(exclude=["invited_by"])
    invitation.save()
    audit.record(actor, "member.invited", invitation, {"agency": agency.slug, "role": role, "username": username})
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """The holder accepts: the membership is created (or a former one of theirs switched back on)."""
    invitation = Invitation.objects.select_for_update().select_related("agency").get(pk=invitation.pk)
    if invitation.user_id != user.pk or invitation.status != InvitationStatus.PENDING:
        raise ValidationError({"invitation": [_("This invitation is no longer open.")]})
    if not invitation.agency.is_active:
        raise ValidationError({"invitation": [_("This agency no longer takes part in the alliance.")]})
    invitation.status, invitation.answered_at = InvitationStatus.ACCEPTED, timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    audit.record(user, "member.invitation_accepted", invitation, {"agency": invitation.agency.slug})
    return member_add(username=user.username, agency=invitation.agency, role=invitation.role, actor=user)


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("agency").get(pk=invitation.pk)
    if invitation.user_id != user.pk or invitation.status != InvitationStatus.PENDING:
        raise ValidationError({"invitation": [_("This invitation is no longer open.")]})
    invitation.status, invitation.answered_at = InvitationStatus.DECLINED, timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    audit.record(user, "member.invitation_declined", invitation, {"agency": invitation.agency.slug})
    return invitation


def _new_raw_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_membership(*, user, agency_slug: str | None = None) -> Membership:
    """The membership a personal token will act under: the one at `agency_slug`, or the user's only one."""
    memberships = list(
        Membership.objects.filter(user=user, is_active=True, agency__is_active=True)
        .select_related("agency")
        .order_by("agency__slug")
    )
    if agency_slug:
        for membership in memberships:
            if membership.agency.slug == agency_slug:
                return membership
        raise ValidationError(
            {
                "agency": [
                    _("%(username)s is not an active member of %(agency)s.")
                    % {"username": user.username, "agency": repr(agency_slug)}
                ]
            }
        )
    if not memberships:
        raise ValidationError(
            {
                "agency": [
                    _("%(username)s has no active membership; personal tokens are for members.")
                    % {"username": user.username}
                ]
            }
        )
    if len(memberships) > 1:
        slugs = ", ".join(m.agency.slug for m in memberships)
        raise ValidationError(
            {
                "agency": [
                    _("%(username)s belongs to several agencies (%(agencies)s): say which one the token acts for.")
                    % {"username": user.username, "agencies": slugs}
                ]
            }
        )
    return memberships[0]


@transaction.atomic
def token_issue(
    *,
    user=None,
    membership: Membership | None = None,
    node: ScannerNode | None = None,
    name: str = "",
    read_only: bool = False,
    expires_at=None,
    actor=None,
) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and only its hash is stored.

    A personal token acts for one membership: `membership`, or `user`'s only active one.
    """
    if (user is None and membership is None) == (node is None):
        raise ValueError("a token belongs to exactly one membership or one node")
    if node is None:
        if membership is None:
            membership = token_membership(user=user)
        elif user is not None and user.pk != membership.user_id:
            raise ValueError("the membership is not the user's")
        if not membership.is_active:
            raise ValidationError({"agency": [_("This membership is offboarded; it takes no new tokens.")]})
        user = membership.user
    raw = _new_raw_token("axn" if node else "axp")
    token = ApiToken.objects.create(
        key_hash=hash_token(raw),
        prefix=raw[:10],
        kind=TokenKind.NODE if node else TokenKind.PERSONAL,
        user=user,
        membership=membership,
        node=node,
        name=name,
        read_only=read_only,
        expires_at=expires_at,
    )
    data = {"kind": token.kind, "owner": node.id if node else user.username}
    if membership is not None:
        data.update(membership=membership.handle, read_only=read_only)
    audit.record(actor, "token.issued", token, data)
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor, "token.revoked", token, {"kind": token.kind})


def _key_create(
    *,
    owner_kind: str,
    x: str,
    agency: Agency | None = None,
    node: ScannerNode | None = None,
    private_key: Ed25519PrivateKey | None = None,
    actor=None,
) -> SigningKey:
    kid = thumbprint(x)
    if SigningKey.objects.filter(x=x).exists():
        raise ValidationError({"x": [_("This public key is already registered; a key can be registered only once.")]})
    key = SigningKey(
        kid=kid,
        x=x,
        owner_kind=owner_kind,
        agency=agency,
        node=node,
        held_by_portal=private_key is not None,
        private_key_encrypted=encrypt_private_key(private_key, kid) if private_key else None,
    )
    key.save()
    audit.record(actor, "key.created", key, {"owner": key.owner_label, "kid": kid, "held": key.held_by_portal})
    return key


@transaction.atomic
def agency_key_generate(*, agency: Agency, actor=None) -> SigningKey:
    """Retire the agency's active portal-held key (if any) and make a new one."""
    current = (
        SigningKey.objects.select_for_update()
        .filter(agency=agency, owner_kind=KeyOwner.AGENCY, held_by_portal=True, status=KeyStatus.ACTIVE)
        .first()
    )
    if current is not None:
        _key_retire(current, actor)
    private = Ed25519PrivateKey.generate()
    return _key_create(
        owner_kind=KeyOwner.AGENCY, x=public_x(private.public_key()), agency=agency, private_key=private, actor=actor
    )


def agency_key_ensure(agency: Agency) -> SigningKey:
    key = SigningKey.objects.filter(
        agency=agency, owner_kind=KeyOwner.AGENCY, held_by_portal=True, status=KeyStatus.ACTIVE
    ).first()
    return key or agency_key_generate(agency=agency)


@transaction.atomic
def agency_key_register_external(*, agency: Agency, public_key: str, actor=None) -> SigningKey:
    # Name the field the caller used: `pem` for a PEM block, `x` for a raw key.
    field = "pem" if isinstance(public_key, str) and public_key.strip().startswith("-----BEGIN") else "x"
    try:
        x = parse_public_key(public_key)
    except (ValueError, TypeError) as exc:
        raise ValidationError({field: [_("Not an Ed25519 public key: %(error)s.") % {"error": exc}]}) from exc
    return _key_create(owner_kind=KeyOwner.AGENCY, x=x, agency=agency, actor=actor)


@transaction.atomic
def portal_key_ensure() -> SigningKey:
    key = SigningKey.objects.filter(owner_kind=KeyOwner.PORTAL, status=KeyStatus.ACTIVE).first()
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    try:
        with transaction.atomic():  # a savepoint: losing the race below leaves the caller's transaction usable
            return _key_create(owner_kind=KeyOwner.PORTAL, x=public_x(private.public_key()), private_key=private)
    except IntegrityError:
        # Two workers created the first portal key at the same moment (one active key per owner): use theirs.
        return SigningKey.objects.get(owner_kind=KeyOwner.PORTAL, status=KeyStatus.ACTIVE)


@transaction.atomic
def portal_key_rotate(*, actor=None) -> SigningKey:
    """Retire the active portal key and make a new one (SPEC 10.1: the retired key still signs the instance
    document that announces its successor, for peers that pinned it)."""
    current = SigningKey.objects.select_for_update().filter(owner_kind=KeyOwner.PORTAL, status=KeyStatus.ACTIVE).first()
    if current is not None:
        _key_retire(current, actor)
    private = Ed25519PrivateKey.generate()
    return _key_create(owner_kind=KeyOwner.PORTAL, x=public_x(private.public_key()), private_key=private, actor=actor)


def _key_retire(key: SigningKey, actor) -> None:
    key.status = KeyStatus.RETIRED
    key.retired_at = timezone.now()
    key.save(update_fields=["status", "retired_at"])
    audit.record(actor, "key.retired", key, {"owner": key.owner_label})


@transaction.atomic
def key_revoke(*, key: SigningKey, reason: str, actor=None) -> SigningKey:
    cleaned, problem = clean_text(reason, max_length=2000, required=True)
    if problem or not cleaned:
        raise ValidationError({"reason": [problem if problem else _("Say why the key is revoked.")]})
    reason = cleaned
    if key.status == KeyStatus.REVOKED:
        # The first revocation's time and reason are the record; a second one must not overwrite them.
        raise ValidationError({"kid": [_("This key is already revoked.")]})
    key.status = KeyStatus.REVOKED
    key.revoked_at = timezone.now()
    key.revocation_reason = reason.strip()[:500]
    key.save(update_fields=["status", "revoked_at", "revocation_reason"])
    audit.record(actor, "key.revoked", key, {"owner": key.owner_label, "reason": key.revocation_reason})
    return key


@transaction.atomic
def node_register(
    *, node_id: str, agency: Agency, public_key: str, description: str = "", actor=None
) -> tuple[ScannerNode, str]:
    """Register a scanner node with its public key; returns the node and its API token (shown once)."""
    if agency.kind not in (AgencyKind.CUSTOMS, AgencyKind.PORT_AUTHORITY):
        raise ValidationError({"agency": [_("Scanner nodes belong to a customs agency or a port authority.")]})
    try:
        x = parse_public_key(public_key)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"public_key": [_("Not an Ed25519 public key: %(error)s.") % {"error": exc}]}) from exc
    node = ScannerNode.objects.filter(id=node_id).first()
    if node is not None and node.agency_id != agency.id:
        raise ValidationError(
            {
                "node": [
                    _("Node %(node)s already belongs to %(agency)s.") % {"node": node_id, "agency": node.agency.slug}
                ]
            }
        )
    if node is None:
        node = ScannerNode(
            id=node_id,
            agency=agency,
            agency_kind=agency.kind,
            port_id=cast(str, agency.port_id),
            description=description,
        )
        node.full_clean()
        node.save()
        audit.record(actor, "node.registered", node, {"agency": agency.slug, "port": node.port_id})
    existing = SigningKey.objects.filter(x=x).first()
    if existing is None:
        for old in SigningKey.objects.select_for_update().filter(node=node, status=KeyStatus.ACTIVE):
            _key_retire(old, actor)
        _key_create(owner_kind=KeyOwner.NODE, x=x, node=node, actor=actor)
    elif existing.node_id != node.id:
        raise ValidationError({"public_key": [_("This public key is already registered to another owner.")]})
    _token, raw = token_issue(node=node, name="registration", actor=actor)
    return node, raw


@transaction.atomic
def node_key_rotate(*, node: ScannerNode, x: str) -> SigningKey:
    for old in SigningKey.objects.select_for_update().filter(node=node, status=KeyStatus.ACTIVE):
        _key_retire(old, f"node:{node.id}")
    return _key_create(owner_kind=KeyOwner.NODE, x=x, node=node, actor=f"node:{node.id}")


@transaction.atomic
def keys_rewrap(*, old_kek: str) -> int:
    """KEK rotation: every private key the portal holds, decrypted with `old_kek` and re-encrypted
    under the current ALLIANCE_KEK, in one transaction (all or none). Keys and signatures are
    unchanged. Returns how many were re-wrapped; a key that does not open with `old_kek` (already
    re-wrapped, or a wrong secret) stops the whole run."""
    from cryptography.exceptions import InvalidTag

    from .keys import decrypt_private_key

    held = list(SigningKey.objects.select_for_update().filter(private_key_encrypted__isnull=False).order_by("kid"))
    for key in held:
        try:
            private = decrypt_private_key(cast(bytes, key.private_key_encrypted), key.kid, kek=old_kek)
        except InvalidTag:
            raise ValidationError(
                {"old_kek": [_("Key %(kid)s does not open with the old KEK; nothing was changed.") % {"kid": key.kid}]}
            )
        key.private_key_encrypted = encrypt_private_key(private, key.kid)
        key.save(update_fields=["private_key_encrypted"])
    audit.record(None, "keys.rewrapped", data={"count": len(held)})
    return len(held)


# ---------------------------------------------------------------- the account holder's own changes

TOKEN_DEFAULT_DAYS = 90
TOKEN_MAX_DAYS = 365
EMAIL_PREFERENCES = ("email_alerts", "email_correlations", "email_deliveries", "email_displacement")


@transaction.atomic
def account_token_create(
    *, user, membership_id: object, name: str, days: object = TOKEN_DEFAULT_DAYS, read_only: bool = False
) -> tuple[ApiToken, str]:
    """A personal token the holder makes for one of their own active memberships (SPEC section 2).

    It has a name, an expiry of at most a year (90 days by default), and may be read-only.
    The raw value is returned once; only its hash is kept.
    """
    errors: dict[str, list[str]] = {}
    clean_name, problem = clean_text(name, max_length=100, required=True)
    if problem or not clean_name:
        errors["name"] = [problem or _("Give the token a name, so that you know later what uses it.")]
    try:
        lifetime = int(str(days))
    except (TypeError, ValueError):
        lifetime = 0
    if not 1 <= lifetime <= TOKEN_MAX_DAYS:
        errors["days"] = [_("A token lasts between 1 and %(max)d days.") % {"max": TOKEN_MAX_DAYS}]
    try:
        membership = (
            Membership.objects.select_related("agency")
            .filter(user=user, is_active=True, agency__is_active=True)
            .get(pk=int(str(membership_id)))
        )
    except (TypeError, ValueError, Membership.DoesNotExist):
        membership = None
        errors["membership"] = [_("Choose one of your agencies.")]
    if errors:
        raise ValidationError(errors)
    assert membership is not None
    return token_issue(
        membership=membership,
        name=cast(str, clean_name),
        read_only=bool(read_only),
        expires_at=timezone.now() + timedelta(days=lifetime),
        actor=user,
    )


def account_token_revoke(*, user, token: ApiToken) -> None:
    """The holder revokes one of their own tokens (the selector has already refused anyone else's)."""
    if token.user_id != user.pk or token.kind != TokenKind.PERSONAL:
        raise ValidationError({"token": [_("No such token.")]})
    token_revoke(token=token, actor=user)


@transaction.atomic
def password_change(*, user, old_password: str, new_password: str) -> None:
    """Checks the current password and the password rules, then sets the new one (audited)."""
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": [_("Your current password was entered incorrectly.")]})
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(user, "auth.password_changed", user)


def totp_removal_refused(user) -> str:
    """Why the holder may not remove their second factor, or "" when they may: admins must keep one."""
    if Membership.objects.filter(user=user, is_active=True, agency__is_active=True, role=Role.ADMIN).exists():
        return _("Agency admins must keep a second factor; ask another admin to change your role first.")
    return ""


@transaction.atomic
def totp_remove(*, user, code: str) -> int:
    """Removes the holder's TOTP devices after a current code from one of them (a stolen session is not enough)."""
    refused = totp_removal_refused(user)
    if refused:
        raise ValidationError({"code": [refused]})
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True).select_for_update())
    if not devices:
        raise ValidationError({"code": [_("You have no second factor to remove.")]})
    code = (code or "").strip()
    if not any(device.verify_token(code) for device in devices):
        audit.record(user, "auth.totp_failed", user)
        raise ValidationError({"code": [_("That code is not valid.")]})
    removed, _details = TOTPDevice.objects.filter(user=user).delete()
    audit.record(user, "auth.totp_removed", user, {"devices": removed})
    return removed


def language_choices() -> list[tuple[str, str]]:
    """The languages a member may choose: `settings.LANGUAGES`, whatever it lists."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def preferences_language(user) -> str:
    """The language stored on the account page ("" when none: the browser decides)."""
    return UserProfile.objects.filter(user=user).values_list("language", flat=True).first() or ""


@transaction.atomic
def preferences_update(*, user, data: dict[str, Any]) -> UserProfile:
    """Time zone, language and email choices; every value checked, all or nothing."""
    profile, _created = UserProfile.objects.select_for_update().get_or_create(user=user)
    errors: dict[str, list[str]] = {}
    tz = data.get("timezone", profile.timezone)
    if not isinstance(tz, str) or tz not in zoneinfo.available_timezones():
        errors["timezone"] = [_("Choose a time zone from the list.")]
    language = data.get("language", profile.language)
    if not isinstance(language, str) or (language and language not in dict(settings.LANGUAGES)):
        errors["language"] = [_("Choose a language from the list.")]
    modes = {}
    for field in EMAIL_PREFERENCES:
        value = data.get(field, getattr(profile, field))
        if value not in EmailMode.values:
            errors[field] = [_("Choose immediately, daily digest or never.")]
        modes[field] = value
    if errors:
        raise ValidationError(errors)
    changed = {"timezone": tz, "language": language, **modes}
    before = {field: getattr(profile, field) for field in changed}
    for field, value in changed.items():
        setattr(profile, field, value)
    profile.save(update_fields=list(changed))
    diff = {field: value for field, value in changed.items() if before[field] != value}
    if diff:
        audit.record(user, "account.preferences_changed", user, diff)
    return profile


def visit_record(*, user) -> None:
    """At login: remember the previous login, so that the home page can show what is new since then."""
    previous = user.last_login
    UserProfile.objects.update_or_create(user=user, defaults={"previous_visit_at": previous})
