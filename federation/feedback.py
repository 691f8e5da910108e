"""Feedback travels back to the alert's instance (SPEC 10.2): received, verified, stored for the alert's author.

Outgoing, signed feedback of an agency homed here on an alert homed at a peer is offered to that peer only
(`access.feeds`). Incoming, `apply_feedback` checks a received `x-alliance-feedback` in the order of every
received object: the reporting agency homed at the sender (`origin:not-home`), its key in the sender's signed
instance document (`key:unknown`) and not revoked (`key:revoked`), the Ed25519 signature (`signature:invalid`);
then the alert must be one of ours that the reporting agency may read, and the document valid
(`document:invalid`). `sharing.services.feedback.feedback_store_copy` stores it with its JWS unchanged and tells
the author agency, as a local report does.
"""

import logging
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

import access
from interop import stix
from ports import signing
from ports.instance import is_home
from ports.models import Agency, KeyOwner, KeyStatus, SigningKey
from sharing.models import Alert, AlertGrant, GrantKind, Tlp
from sharing.services.feedback import feedback_store_copy

from .models import Peer
from .services import (
    DOCUMENT_INVALID,
    KEY_REVOKED,
    KEY_UNKNOWN,
    NOT_HOME,
    SIGNATURE_INVALID,
    FederationError,
    PageResult,
    refresh_peer_document,
)

log = logging.getLogger(__name__)

FEEDBACK_TYP = "feedback+json"


def _agency_key(peer: Peer, agency: Agency, kid: str, refreshed: list[bool]) -> SigningKey | None:
    key = SigningKey.objects.filter(kid=kid).first()
    if (key is None or key.agency_id != agency.pk) and not refreshed[0]:
        refreshed[0] = True  # a key the agency made since we last read its instance's document
        try:
            refresh_peer_document(peer)
        except FederationError as exc:
            log.warning("peer %s document refresh failed: %s", peer.id, exc)
        key = SigningKey.objects.filter(kid=kid).first()
    if key is None or key.owner_kind != KeyOwner.AGENCY or key.agency_id != agency.pk:
        return None
    return key


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
    ext = (obj.get("extensions") or {}).get(stix.EXTENSION_ID)
    if not isinstance(ext, dict) or not isinstance(ext.get("jws"), str):
        result.refuse(DOCUMENT_INVALID)
        return
    try:
        parsed = signing.parse(ext["jws"], FEEDBACK_TYP, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError:
        result.refuse(SIGNATURE_INVALID)
        return
    payload = parsed.payload
    agency = Agency.objects.filter(slug=str(payload.get("agency"))).first()
    if agency is None or agency.home_instance != peer.id:
        result.refuse(NOT_HOME)  # only the reporting agency's home instance speaks for it
        return
    key = _agency_key(peer, agency, parsed.kid, refreshed)
    if key is None:
        result.refuse(KEY_UNKNOWN)
        return
    if key.status == KeyStatus.REVOKED:
        result.refuse(KEY_REVOKED)
        return
    if not signing.signature_ok(parsed, key.x):
        result.refuse(SIGNATURE_INVALID)
        return
    alert_id = _uuid_or_none(payload.get("alert"))
    alert = Alert.objects.filter(pk=alert_id).select_related("agency").first() if alert_id else None
    if alert is None or not is_home(alert.agency) or not _reads_alert(agency, alert, payload.get("author")):
        result.refuse(DOCUMENT_INVALID)  # feedback on an alert not ours, or from an agency outside its audience
        return
    try:
        with transaction.atomic():
            _, created = feedback_store_copy(agency=agency, key=key, jws=ext["jws"], payload=payload)
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
