"""Scans, deliveries and subscriptions: who reads a scan (SPEC sections 5 and 6).

Readers of a scan: the public-sector agencies at the scan's port, and the
agencies it was relayed or shared to (guardian grants on the agencies'
groups, direct-FK model). Never the private sector: grants are only read
through the reader's public-sector agencies. One query, no loops.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from ports.models import Agency
from ports.signing import SignatureStatus
from scans import documents as scan_documents
from scans.models import Scan, ScanGroupObjectPermission

from .reader import Reader, integrity_agency_ids, reader_for

VIEW_SCAN = "view_scan"


def _scan_condition(reader: Reader) -> Q:
    grants = ScanGroupObjectPermission.objects.filter(
        group__agency__in=reader.public_agency_ids, permission__codename=VIEW_SCAN
    ).values("content_object_id")
    return Q(port_id__in=reader.public_port_ids) | Q(pk__in=grants)


def scans_visible_to(user: Any) -> QuerySet[Scan]:
    reader = reader_for(user)
    if not reader.is_public_sector:
        return Scan.objects.none()
    condition = _scan_condition(reader)
    # Fail closed: a scan the verifier found invalid stays visible only to its own agency's officers and admins.
    condition &= Q(integrity_failed=False) | Q(node__agency_id__in=integrity_agency_ids(reader))
    return Scan.objects.filter(condition)


def scan_rows(qs: QuerySet[Scan]) -> QuerySet[Scan]:
    return qs.select_related("node", "node__agency", "key", "outcome", "outcome__key", "outcome__agency")


def verified_scans(user: Any, scans: Iterable[Scan]) -> list[Scan]:
    """Verify one page and leave invalid scans out for everyone but the node agency's officers and admins.

    Sets `signature_status` on every scan returned (bounded work: one page).
    """
    guardians = reader_for(user).integrity_agency_ids
    kept = []
    for scan in scans:
        row: Any = scan  # `signature_status` is set here, for the page and the serializer
        row.signature_status = scan_documents.signature_status(scan)
        if row.signature_status == SignatureStatus.INVALID and scan.node.agency_id not in guardians:
            continue
        kept.append(scan)
    return kept


def get_scan_for(user: Any, scan_id: object) -> Scan:
    try:
        pk = uuid.UUID(str(scan_id))
    except ValueError:
        raise Http404("No such scan.")
    scan = scan_rows(scans_visible_to(user).filter(pk=pk)).first()
    if scan is None or not verified_scans(user, [scan]):
        # Missing, forbidden and failed-closed answer alike: existence does not leak.
        raise Http404("No such scan.")
    return scan


def scan_readable_by_agency(scan: Scan, agency: Agency) -> bool:
    """The same rule for an agency (relays and webhooks re-check access on every send)."""
    if not agency.is_public or not agency.is_active:
        return False
    if scan.port_id == agency.port_id:
        return True
    return ScanGroupObjectPermission.objects.filter(
        content_object=scan, group__agency=agency, permission__codename=VIEW_SCAN
    ).exists()


def scan_signature_status(scan: Scan) -> str:
    """A scan's signature status, recomputed from its JWS (feeds use it)."""
    return scan_documents.signature_status(scan)
