"""Feedback travels back to the alert's instance (SPEC 10.2): received, verified, stored for the alert's author.

Outgoing, signed feedback of an agency homed here on an alert homed at a peer is offered to that peer only
(`access.feeds`). Incoming, `apply_feedback` checks a received `x-alliance-feedback` in the order of every
received object: the reporting agency homed at the sender (`origin:not-home`), its key in the sender's signed
instance document (`key:unknown`) and not revoked (`key:revoked`), the Ed25519 signature (`signature:invalid`);
then the alert must be one of ours that the reporting agency may read, and the document valid
(`document:invalid`). `sharing.services.feedback.feedback_store_copy` stores it with its JWS unchanged and tells
the author agency, as a local report does.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

import access
from ports.instance import is_home
from ports.models import Agency, KeyOwner
from sharing.models import Alert, AlertGrant, GrantKind, Tlp
from sharing.services.feedback import feedback_store_copy

from .checks import signed_extension, verified_key
from .models import Peer
from .services import (
    DOCUMENT_INVALID,
    NOT_HOME,
    PageResult,
)

FEEDBACK_TYP = "feedback+json"


def _reads_alert(agency: Agency, alert: Alert, author: object) -> bool:
    """Feedback comes from readers of the alert: the same rule, the reporting agency as the reader; of a RED
    alert, only from a member its audience names."""
    reader = access.reader_for_agencies([agency], named_members=alert.tlp == Tlp.RED)
    if not access.alerts_visible_to(reader).filter(pk=alert.pk).exists():
        return False
    return (
        alert.tlp != Tlp.RED
        or AlertGrant.objects.filter(
            alert=alert, kind=GrantKind.REMOTE_USER, agency=agency, handle=str(author)
        ).exists()
    )


def apply_feedback(peer: Peer, obj: dict, result: PageResult, refreshed: list[bool]) -> None:
    signed = signed_extension(obj, FEEDBACK_TYP, result)
    if signed is None:
        return
    jws, parsed = signed
    payload = parsed.payload
    agency = Agency.objects.filter(slug=str(payload.get("agency"))).first()
    if agency is None or agency.home_instance != peer.id:
        result.refuse(NOT_HOME)  # only the reporting agency's home instance speaks for it
        return
    key = verified_key(
        peer, parsed, lambda k: k.owner_kind == KeyOwner.AGENCY and k.agency_id == agency.pk, refreshed, result
    )
    if key is None:
        return
    alert_id = _uuid_or_none(payload.get("alert"))
    alert = Alert.objects.filter(pk=alert_id).select_related("agency").first() if alert_id else None
    if alert is None or not is_home(alert.agency) or not _reads_alert(agency, alert, payload.get("author")):
        result.refuse(DOCUMENT_INVALID)  # feedback on an alert not ours, or from an agency outside its audience
        return
    try:
        with transaction.atomic():
            _, created = feedback_store_copy(agency=agency, key=key, jws=jws, payload=payload)
    except ValidationError:
        result.refuse(DOCUMENT_INVALID)
        return
    if created:
        result.applied += 1
    else:
        result.already += 1


def _uuid_or_none(value: object) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
