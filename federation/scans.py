"""Scans across instances (SPEC 10.2): scanner nodes learnt from their home's document, relayed scans applied here.

Outgoing, a scan leaves in the federation collection when section 6 relayed it to an agency homed at the peer
(`access.feeds`: the scan is readable by the peer's home agencies). Incoming, `apply_scan` checks a received
`x-alliance-scan` in the same order as an alert (the node's agency homed at the sender, the node's key in the
sender's signed instance document and not revoked, the node's Ed25519 signature, the document) and hands it to
`scans.services.copies.scan_store_copy`: stored with the node's JWS unchanged, then relayed by the one relay
path, so deliveries, webhooks and correlations at this instance are those of a locally pushed scan.

Nodes are references here, as foreign agencies are: `learn_nodes` records, from a verified instance document,
each node key of an agency homed at that peer (the key's JWK names the node's agency), never a token.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ports.keys import canonical_x, thumbprint
from ports.models import SCANNER_KINDS, Agency, KeyOwner, KeyStatus, ScannerNode, SigningKey
from scans.services.copies import scan_store_copy

from .checks import refresh_once, signed_extension, verified_key
from .models import FederatedCopy, Peer
from .services import (
    DOCUMENT_INVALID,
    KEY_UNKNOWN,
    NOT_HOME,
    PageResult,
)

log = logging.getLogger(__name__)

SCAN_TYP = "scan+json"
NODE_PREFIX = "node:"
_STATUS_ORDER: list[str] = [KeyStatus.ACTIVE, KeyStatus.RETIRED, KeyStatus.REVOKED]


def _reference_node(node_id: str, agency: Agency) -> ScannerNode | None:
    node = ScannerNode.objects.filter(pk=node_id).select_related("agency").first()
    if node is not None:
        if node.agency_id != agency.pk:
            log.warning("node %s is known here under %s, not %s; ignored", node_id, node.agency.slug, agency.slug)
            return None
        return node
    if agency.kind not in SCANNER_KINDS or not agency.port_id:
        return None
    node = ScannerNode(
        id=node_id,
        agency=agency,
        agency_kind=agency.kind,
        port_id=agency.port_id,
        description="reference: homed at another instance",
    )
    try:
        node.full_clean()
        with transaction.atomic():
            node.save()
    except (ValidationError, IntegrityError):
        log.warning("node %s of %s cannot be stored", node_id, agency.slug)
        return None
    return node


def learn_nodes(peer: Peer, payload: dict, agencies: dict[str, Agency]) -> int:
    """From a verified instance document: the nodes of the peer's home agencies and their keys (new keys made)."""
    made = 0
    for jwk in payload.get("keys") or []:
        if not isinstance(jwk, dict) or not str(jwk.get("owner", "")).startswith(NODE_PREFIX):
            continue
        agency = agencies.get(str(jwk.get("agency")))
        if agency is None:
            continue  # a node of an agency the peer is not home to (or a document without the node's agency)
        try:
            x = canonical_x(jwk.get("x"))
        except (TypeError, ValueError):
            continue
        node = _reference_node(str(jwk["owner"])[len(NODE_PREFIX) :], agency)
        if node is None:
            continue
        status = str(jwk.get("status")) if jwk.get("status") in KeyStatus.values else str(KeyStatus.RETIRED)
        kid = thumbprint(x)
        existing = SigningKey.objects.filter(kid=kid).first()
        if existing is None:
            if status == KeyStatus.ACTIVE:  # one active key per node: the one the document names wins
                SigningKey.objects.filter(node=node, status=KeyStatus.ACTIVE).update(
                    status=KeyStatus.RETIRED, retired_at=timezone.now()
                )
            try:
                with transaction.atomic():
                    SigningKey.objects.create(
                        kid=kid, x=x, owner_kind=KeyOwner.NODE, node=node, held_by_portal=False, status=status
                    )
                made += 1
            except IntegrityError:
                continue
        elif (
            existing.owner_kind == KeyOwner.NODE
            and existing.node_id == node.pk
            and _STATUS_ORDER.index(status) > _STATUS_ORDER.index(existing.status)  # status only moves forward
        ):
            now = timezone.now()
            SigningKey.objects.filter(pk=kid).update(
                status=status,
                retired_at=existing.retired_at or now,
                revoked_at=now if status == KeyStatus.REVOKED else None,
            )
    return made


def apply_scan(peer: Peer, obj: dict, result: PageResult, refreshed: list[bool]) -> None:
    """Check and store one `x-alliance-scan` (version 1: the scan; an outcome travelling with it is not applied)."""
    signed = signed_extension(obj, SCAN_TYP, result)
    if signed is None:
        return
    jws, parsed = signed
    node_id = parsed.payload.get("node")

    def node_row() -> ScannerNode | None:
        return ScannerNode.objects.filter(pk=str(node_id)).select_related("agency").first() if node_id else None

    node = node_row()
    if node is None and refresh_once(peer, refreshed):
        node = node_row()
    if node is None:
        result.refuse(KEY_UNKNOWN)  # no instance document names this node
        return
    if node.agency.home_instance != peer.id:
        result.refuse(NOT_HOME)  # accepted only from the node agency's home instance
        return
    key = verified_key(
        peer, parsed, lambda k: k.owner_kind == KeyOwner.NODE and k.node_id == node.pk, refreshed, result
    )
    if key is None:
        return
    try:
        with transaction.atomic():
            scan, created = scan_store_copy(
                node=node, key=key, jws=jws, payload=parsed.payload, payload_bytes=parsed.payload_bytes
            )
            if created:
                FederatedCopy.objects.create(kind="scan", object_id=scan.pk, version=1, origin=peer.id)
    except ValidationError:
        result.refuse(DOCUMENT_INVALID)
        return
    if created:
        result.applied += 1
    else:
        result.already += 1
