"""Scans received from their node's home instance (SPEC 10.2): stored as pushed, then relayed like local ones.

A peer sends a scan its node signed; the federation sync has already checked that the node is homed at that
peer, that the key is the node's and not revoked, and the signature. Here the document is validated exactly as
an ingest validates it, and the scan is stored unchanged (its JWS byte for byte) with its outbox row in one
transaction; the relay is queued on commit, so deliveries, read grants, correlations, webhooks and
notifications at this instance come from the one relay path (`relay.relay_batch`), not a copy of it.

Idempotent: the same (node, scan_id) with the same payload is the scan already held; with another payload it is
refused (a node never says two things under one scan id).
"""

import hashlib
from datetime import timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ports.models import ScannerNode, SigningKey

from .. import documents as scan_documents
from ..models import Scan, ScanOutbox
from .scans import Checked, _enqueue_relay, _ensure_ports, _new_scan

# The node's instance checked `scanned_at` against its own clock; ours may differ by minutes (SPEC 10.2).
PEER_CLOCK_SKEW = timedelta(minutes=10)


def scan_store_copy(
    *, node: ScannerNode, key: SigningKey, jws: str, payload: dict, payload_bytes: bytes
) -> tuple[Scan, bool]:
    """Store a verified scan of a foreign node; returns (scan, created). Raises ValidationError on a bad document."""
    now = timezone.now()
    errors = scan_documents.validate(payload, node, now + PEER_CLOCK_SKEW)
    if errors:
        raise ValidationError(errors)
    checked = Checked(payload, hashlib.sha256(payload_bytes).hexdigest(), key, jws)
    existing = _held(node, checked)
    if existing is not None:
        return existing, False
    _ensure_ports([payload])
    try:
        with transaction.atomic():
            scan = _new_scan(node, checked, now)
            scan.save(force_insert=True)
            ScanOutbox.objects.create(scan=scan, created_at=now)
    except IntegrityError as exc:  # stored meanwhile by another worker: the same scan, or a conflict
        existing = _held(node, checked)
        if existing is None:
            raise ValidationError({"scan_id": ["The scan cannot be stored."]}) from exc
        return existing, False
    transaction.on_commit(partial(_enqueue_relay, [scan.pk]), robust=True)
    return scan, True


def _held(node: ScannerNode, checked: Checked) -> Scan | None:
    existing = Scan.objects.filter(node=node, scan_id=checked.payload["scan_id"]).first()
    if existing is not None and existing.payload_sha256 != checked.payload_sha256:
        raise ValidationError({"scan_id": [f"Scan {checked.payload['scan_id']!r} is held with another payload."]})
    return existing
