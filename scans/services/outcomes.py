"""Inspection outcomes (SPEC section 5): recorded by an officer at the scan's port, signed by the agency key."""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance import hooks
from ports import audit, signing
from ports.models import KeyOwner, Membership, Role, Sector
from ports.selectors import active_memberships
from ports.services import agency_key_ensure
from ports.validation import clean_text, finite_number, hostile_errors

from ..documents import MAX_SEIZED_KG
from ..models import InspectionOutcome, OutcomeResult, Scan

OUTCOME_TYP = "outcome+json"
MAX_SUBSTANCE = 64
MAX_NOTE = 2000
FIELDS = ("result", "seized_kg", "substance", "note")


class OutcomeExists(Exception):
    pass


def outcome_membership(user, scan: Scan, agency_slug: str | None = None) -> Membership:
    """An officer of a public-sector agency at the scan's port; 403 for anyone else who can read the scan."""
    candidates = [
        m
        for m in active_memberships(user)
        if m.role == Role.OFFICER and m.agency_sector == Sector.PUBLIC and m.agency.port_id == scan.port_id
    ]
    if agency_slug:
        candidates = [m for m in candidates if m.agency.slug == agency_slug]
    if not candidates:
        raise PermissionDenied(_("Only an officer of a public-sector agency at the scan's port records its outcome."))
    return candidates[0]


def outcome_document(outcome: InspectionOutcome) -> dict:
    return {
        "id": str(outcome.id),
        "type": "outcome",
        "scan": str(outcome.scan_id),
        "agency": outcome.agency.slug,
        "author": outcome.author,
        "result": outcome.result,
        "seized_kg": outcome.seized_kg,
        "substance": outcome.substance,
        "note": outcome.note,
        "created_at": signing.rfc3339(outcome.created_at),
    }


def key_belongs_to_agency(outcome: InspectionOutcome) -> bool:
    """The key must be the outcome's agency's own (SPEC section 3), as for alerts: another agency's
    real key verifies cryptographically, but its signature is not this agency's word."""
    key = outcome.key
    return key.owner_kind == KeyOwner.AGENCY and key.agency_id == outcome.agency_id


def outcome_signature_status(outcome: InspectionOutcome) -> str:
    if not key_belongs_to_agency(outcome):
        return signing.SignatureStatus.INVALID
    return signing.status_of(outcome.jws, OUTCOME_TYP, outcome_document(outcome), outcome.key)


def outcome_clean(data) -> dict:
    """The outcome fields from raw input, whatever the path (API JSON or the page's form strings).

    Raises ValidationError({field: [messages]}) naming every bad field. `seized_kg` is a finite number
    of kilograms, 0 to 100,000 as for scans, given as a number or a numeric string.
    """
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("A JSON object is expected.")]})
    errors: dict[str, list[str]] = {
        name: messages for name, messages in hostile_errors(data).items() if name in (*FIELDS, "non_field_errors")
    }
    result = data.get("result")
    if "result" not in errors and result not in OutcomeResult.values:
        errors["result"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(OutcomeResult.values)}]
    seized = data.get("seized_kg")
    if "seized_kg" not in errors and seized not in (None, ""):
        seized, problem = finite_number(
            seized,
            minimum=0,
            maximum=MAX_SEIZED_KG,
            strings=True,
            what=_("A number of kilograms is expected."),
            too_low=_("Kilograms cannot be negative."),
        )
        if problem:
            errors["seized_kg"] = [problem]
        elif result == OutcomeResult.NEGATIVE and seized:
            errors["seized_kg"] = [_("A negative inspection seizes nothing.")]
    else:
        seized = None
    texts = {}
    for name, limit in (("substance", MAX_SUBSTANCE), ("note", MAX_NOTE)):
        if name in errors:
            continue
        texts[name], problem = clean_text(data.get(name), max_length=limit)
        if problem:
            errors[name] = [problem]
    if errors:
        raise ValidationError(errors)
    return {"result": result, "seized_kg": seized, **texts}


@transaction.atomic
def outcome_record(*, membership: Membership, scan: Scan, data) -> InspectionOutcome:
    """Validate the raw `data` (outcome_clean), sign it with the agency key and store it."""
    values = outcome_clean(data)
    if InspectionOutcome.objects.filter(scan=scan).exists():
        raise OutcomeExists(_("This scan already has an inspection outcome."))
    seized = values["seized_kg"]
    key = agency_key_ensure(membership.agency)
    now = timezone.now().replace(microsecond=0)
    outcome = InspectionOutcome(
        id=uuid.uuid4(),
        scan=scan,
        agency=membership.agency,
        author=membership.handle,
        result=values["result"],
        seized_kg=seized,
        substance=values["substance"],
        note=values["note"],
        created_at=now,
        key=key,
    )
    outcome.jws = signing.sign(outcome_document(outcome), key, OUTCOME_TYP)
    try:
        with transaction.atomic():
            outcome.save(force_insert=True)
    except IntegrityError as exc:
        raise OutcomeExists(_("This scan already has an inspection outcome.")) from exc
    audit.record(
        membership.user,
        "outcome.recorded",
        outcome,
        {"scan": str(scan.pk), "agency": membership.agency.slug, "result": outcome.result},
    )
    hooks.run("outcome_recorded", outcome)  # inside the recording transaction (rollups)
    return outcome
