"""Declared enforcement measures (SPEC section 7): an officer of a public-sector agency at their own port."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ports import audit
from ports.models import Membership, Port, Role, Sector
from ports.selectors import active_memberships
from ports.services import port_for_locode

from ..models import Measure


def measure_membership(user, port: str, agency_slug: str | None = None) -> Membership:
    """The officer membership a measure at `port` is declared under.

    403 for a caller who is an officer of no public-sector agency; a field error on `port` for an officer
    of another port only (their own port only).
    """
    officer = [m for m in active_memberships(user) if m.role == Role.OFFICER and m.agency_sector == Sector.PUBLIC]
    if not officer:
        raise PermissionDenied("Only officers of a public-sector agency declare measures.")
    at_port = [m for m in officer if m.agency.port_id == port]
    if not at_port:
        raise ValidationError({"port": [f"You may declare measures only at your own port, not at {port}."]})
    if agency_slug:
        at_port = [m for m in at_port if m.agency.slug == agency_slug]
        if not at_port:
            raise ValidationError({"agency": [f"You are not an officer of {agency_slug!r} at {port}."]})
    elif len(at_port) > 1:
        raise ValidationError({"agency": ["You are an officer of several agencies at this port: say which one."]})
    return at_port[0]


@transaction.atomic
def measure_declare(
    *, user, port: str, origin: str | None, starts_on: date, description: str, agency_slug: str | None = None
) -> Measure:
    if not Port.objects.filter(locode=port, is_member=True).exists():
        raise ValidationError({"port": [f"{port} is not a member port of the alliance."]})
    membership = measure_membership(user, port, agency_slug)
    origin_port = port_for_locode(origin) if origin else None
    measure = Measure(
        port_id=port,
        origin=origin_port,
        starts_on=starts_on,
        description=description.strip(),
        agency=membership.agency,
        author=membership.handle,
        created_at=timezone.now().replace(microsecond=0),
    )
    measure.full_clean()
    measure.save()
    audit.record(
        user,
        "measure.declared",
        measure,
        {"port": port, "origin": origin, "starts_on": starts_on.isoformat(), "agency": membership.agency.slug},
    )
    return measure
