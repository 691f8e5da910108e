"""Declared enforcement measures (SPEC section 7): an officer of a public-sector agency at their own port."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ports import audit
from ports.locode import locode_error
from ports.models import Membership, Port, Role, Sector
from ports.selectors import active_memberships
from ports.services import port_for_locode
from ports.validation import clean_text, strict_date, text_problem

from ..models import Measure


def measure_membership(user, port: str, agency_slug: str | None = None) -> Membership:
    """The officer membership a measure at `port` is declared under.

    403 for a caller who is an officer of no public-sector agency; a field error on `port` for an officer
    of another port only (their own port only).
    """
    officer = [m for m in active_memberships(user) if m.role == Role.OFFICER and m.agency_sector == Sector.PUBLIC]
    if not officer:
        raise PermissionDenied(_("Only officers of a public-sector agency declare measures."))
    at_port = [m for m in officer if m.agency.port_id == port]
    if not at_port:
        raise ValidationError(
            {"port": [_("You may declare measures only at your own port, not at %(port)s.") % {"port": port}]}
        )
    if agency_slug:
        at_port = [m for m in at_port if m.agency.slug == agency_slug]
        if not at_port:
            raise ValidationError(
                {
                    "agency": [
                        _("You are not an officer of %(agency)s at %(port)s.")
                        % {"agency": repr(agency_slug), "port": port}
                    ]
                }
            )
    elif len(at_port) > 1:
        raise ValidationError({"agency": [_("You are an officer of several agencies at this port: say which one.")]})
    return at_port[0]


MAX_DESCRIPTION = 2000


def measure_clean(*, port, origin, starts_on, description, agency_slug=None) -> dict:
    """Raw values (API JSON, or the demo's own) -> normalised ones; ValidationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for name, value, nullable in (("port", port, False), ("origin", origin, True)):
        if value is None or value == "":
            values[name] = None
            if not nullable:
                errors[name] = [_("This field is required.")]
            continue
        problem = locode_error(value.strip().upper()) if isinstance(value, str) else locode_error(value)
        if isinstance(value, str) and text_problem(value):
            problem = text_problem(value)
        if problem:
            errors[name] = [problem]
        else:
            values[name] = value.strip().upper()
    if isinstance(starts_on, date):
        values["starts_on"] = starts_on
    else:
        values["starts_on"] = strict_date(starts_on)
        if values["starts_on"] is None:
            errors["starts_on"] = [_("A date written YYYY-MM-DD that exists.")]
    values["description"], problem = clean_text(description, max_length=MAX_DESCRIPTION, required=True)
    if problem:
        errors["description"] = [problem]
    if agency_slug is not None and (not isinstance(agency_slug, str) or text_problem(agency_slug)):
        errors["agency"] = [_("An agency slug is expected.")]
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def measure_declare(*, user, port, origin, starts_on, description, agency_slug: str | None = None) -> Measure:
    """Validate the raw values (measure_clean), then declare the measure under the caller's officer membership."""
    values = measure_clean(
        port=port, origin=origin, starts_on=starts_on, description=description, agency_slug=agency_slug
    )
    port, origin, starts_on = values["port"], values["origin"], values["starts_on"]
    if not Port.objects.filter(locode=port, is_member=True).exists():
        raise ValidationError({"port": [_("%(port)s is not a member port of the alliance.") % {"port": port}]})
    membership = measure_membership(user, port, agency_slug)
    origin_port = port_for_locode(origin) if origin else None
    measure = Measure(
        port_id=port,
        origin=origin_port,
        starts_on=starts_on,
        description=values["description"],
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
