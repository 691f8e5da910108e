"""Inspection outcomes (SPEC section 5): recorded by an officer at the scan's port, signed by the agency key."""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alliance import hooks
from ports import audit, signing
from ports.models import KeyOwner, Membership, Role, Sector
from ports.selectors import active_memberships
from ports.services import agency_key_ensure

from ..models import InspectionOutcome, Scan

OUTCOME_TYP = "outcome+json"


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
        raise PermissionDenied("Only an officer of a public-sector agency at the scan's port records its outcome.")
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


@transaction.atomic
def outcome_record(*, membership: Membership, scan: Scan, data: dict) -> InspectionOutcome:
    if InspectionOutcome.objects.filter(scan=scan).exists():
        raise OutcomeExists("This scan already has an inspection outcome.")
    seized = data.get("seized_kg")
    if data["result"] == "negative" and seized:
        raise ValidationError({"seized_kg": ["A negative inspection seizes nothing."]})
    key = agency_key_ensure(membership.agency)
    now = timezone.now().replace(microsecond=0)
    outcome = InspectionOutcome(
        id=uuid.uuid4(),
        scan=scan,
        agency=membership.agency,
        author=membership.handle,
        result=data["result"],
        seized_kg=seized,
        substance=data.get("substance") or None,
        note=data.get("note") or None,
        created_at=now,
        key=key,
    )
    outcome.jws = signing.sign(outcome_document(outcome), key, OUTCOME_TYP)
    try:
        with transaction.atomic():
            outcome.save(force_insert=True)
    except IntegrityError as exc:
        raise OutcomeExists("This scan already has an inspection outcome.") from exc
    audit.record(
        membership.user,
        "outcome.recorded",
        outcome,
        {"scan": str(scan.pk), "agency": membership.agency.slug, "result": outcome.result},
    )
    hooks.run("outcome_recorded", outcome)  # inside the recording transaction (rollups)
    return outcome
