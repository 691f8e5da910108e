"""Deliveries inbox and subscriptions (SPEC section 6): acknowledgement, and what an agency asks to receive."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import access
from ports import audit
from ports.locode import locode_error
from ports.models import Membership, Port, Role

from ..models import Delivery, Subscription, Verdict


class SubscriptionExists(Exception):
    """The agency already has an active subscription with the same port, origin and minimum verdict."""


def _acting_membership(user, agency_id: int) -> Membership:
    for membership in access.public_memberships(user):
        if membership.agency_id == agency_id:
            return membership
    raise PermissionDenied(_("Only a member of the receiving agency acknowledges its deliveries."))


@transaction.atomic
def delivery_acknowledge(*, user, delivery: Delivery) -> tuple[Delivery, bool]:
    """Acknowledge one delivery for its agency. Safe twice: the first acknowledgement stands, audited once.

    Returns the delivery as stored and whether this call acknowledged it.
    """
    membership = _acting_membership(user, delivery.agency_id)
    now = timezone.now()
    # Conditional update: two clicks (or two colleagues) race, one wins, the other changes nothing.
    changed = Delivery.objects.filter(pk=delivery.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=membership
    )
    if changed:
        audit.record(
            user,
            "delivery.acknowledged",
            delivery,
            {"scan": str(delivery.scan_id), "agency": membership.agency.slug, "by": membership.handle},
        )
    delivery.refresh_from_db(fields=["acknowledged_at", "acknowledged_by"])
    return delivery, bool(changed)


# ---------------------------------------------------------------- subscriptions


def subscription_admin_membership(user, agency_slug: str | None) -> Membership:
    """The admin membership the caller acts under: of `agency_slug`, or their only public-sector admin one."""
    admin = access.memberships_with_role(user, Role.ADMIN)
    public = access.memberships_with_role(user, Role.ADMIN, public_only=True)
    if agency_slug:
        for membership in admin:
            if membership.agency.slug == agency_slug:
                if membership not in public:
                    raise PermissionDenied(_("Private-sector agencies do not receive scans and cannot subscribe."))
                return membership
        raise PermissionDenied(_("You are not an admin of %(agency)s.") % {"agency": agency_slug})
    if not public:
        raise PermissionDenied(_("Only admins of public-sector agencies manage subscriptions."))
    if len(public) > 1:
        raise ValidationError({"agency": [_("You are an admin of several agencies: say which one subscribes.")]})
    return public[0]


def _port(errors: dict, name: str, value, *, member_only: bool) -> Port | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        errors[name] = [_("A LOCODE (5 characters) is expected.")]
        return None
    value = value.strip().upper()
    problem = locode_error(value)
    if problem:
        errors[name] = [_("%(value)s: %(problem)s") % {"value": repr(value), "problem": problem}]
        return None
    port = Port.objects.filter(locode=value).first()
    if port is None:
        errors[name] = [_("%(port)s is not a port known to the alliance.") % {"port": value}]
    elif member_only and not port.is_member:
        errors[name] = [_("%(port)s is not an alliance member port: no scans are made there.") % {"port": value}]
    return port


@transaction.atomic
def subscription_create(
    *, membership: Membership, port: str | None = None, origin: str | None = None, min_verdict: str | None = None
) -> Subscription:
    """Subscribe the membership's agency to scans at `port` (any if empty) from `origin` (any if empty).

    Raises ValidationError (field by field) for bad input and SubscriptionExists for a duplicate; an
    identical subscription deactivated earlier is reactivated instead of duplicated.
    """
    if not access.membership_holds(membership, Role.ADMIN, public_only=True):
        raise PermissionDenied(_("Only admins of public-sector agencies manage subscriptions."))
    errors: dict[str, list[str]] = {}
    port_obj = _port(errors, "port", port, member_only=True)
    origin_obj = _port(errors, "origin", origin, member_only=False)
    min_verdict = min_verdict or Verdict.SUSPECT
    if min_verdict not in Verdict.values:
        errors["min_verdict"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(Verdict.values)}]
    if errors:
        raise ValidationError(errors)
    agency = membership.agency
    existing = (
        Subscription.objects.select_for_update()
        .filter(agency=agency, port=port_obj, origin=origin_obj, min_verdict=min_verdict)
        .first()
    )
    if existing is not None and existing.is_active:
        raise SubscriptionExists(
            _("%(agency)s already subscribes to %(port)s from %(origin)s at %(verdict)s or above.")
            % {
                "agency": agency.slug,
                "port": existing.port_id or _("any port"),
                "origin": existing.origin_id or _("any origin"),
                "verdict": min_verdict,
            }
        )
    if existing is not None:
        existing.is_active = True
        existing.created_by = membership
        existing.save(update_fields=["is_active", "created_by"])
        subscription = existing
    else:
        subscription = Subscription(
            agency=agency, port=port_obj, origin=origin_obj, min_verdict=min_verdict, created_by=membership
        )
        subscription.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError as exc:  # a concurrent identical request won
            raise SubscriptionExists(_("%(agency)s already has this subscription.") % {"agency": agency.slug}) from exc
    audit.record(
        membership.user,
        "subscription.created",
        subscription,
        {
            "agency": agency.slug,
            "port": subscription.port_id,
            "origin": subscription.origin_id,
            "min_verdict": min_verdict,
        },
    )
    return subscription


@transaction.atomic
def subscription_deactivate(*, user, subscription: Subscription) -> bool:
    """Stop a subscription (kept for the record). Safe twice; returns whether this call changed it."""
    membership = next(
        (
            m
            for m in access.memberships_with_role(user, Role.ADMIN, public_only=True)
            if m.agency_id == subscription.agency_id
        ),
        None,
    )
    if membership is None:
        raise PermissionDenied(_("Only an admin of the subscribing agency stops its subscriptions."))
    changed = Subscription.objects.filter(pk=subscription.pk, is_active=True).update(is_active=False)
    if changed:
        subscription.is_active = False
        audit.record(
            user,
            "subscription.deactivated",
            subscription,
            {"agency": membership.agency.slug, "port": subscription.port_id, "origin": subscription.origin_id},
        )
    return bool(changed)
