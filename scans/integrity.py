"""Whole-table signature checks of scans and inspection outcomes (run by `sharing.integrity.verify_all`)."""

from django.db import transaction

from alliance import hooks
from ports.signing import Finding, SignatureStatus

from . import documents as scan_documents
from .models import InspectionOutcome, Scan
from .services.outcomes import outcome_signature_status

CHUNK = 500


def verify_scans(*, mark: bool) -> tuple[list[Finding], int]:
    """Scans (signed by their node) and inspection outcomes (signed by the agency).

    With `mark`, scans get `integrity_failed` set or cleared to match, and the counts that follow the flag
    (the `scan_integrity_changed` hooks: rollups) change in the same transaction.
    """
    problems: list[Finding] = []
    bad_ids = []
    checked = 0
    for scan in Scan.objects.select_related("key").order_by("pk").iterator(chunk_size=CHUNK):
        checked += 1
        status = scan_documents.signature_status(scan)
        if status != SignatureStatus.VERIFIED:
            problems.append(Finding("scan", str(scan.pk), 1, status))
        if status == SignatureStatus.INVALID:
            bad_ids.append(scan.pk)
    if mark:
        with transaction.atomic():
            newly_failed = list(
                Scan.objects.select_for_update()
                .filter(pk__in=bad_ids, integrity_failed=False)
                .values_list("pk", flat=True)
            )
            cleared = list(
                Scan.objects.select_for_update()
                .filter(integrity_failed=True)
                .exclude(pk__in=bad_ids)
                .values_list("pk", flat=True)
            )
            Scan.objects.filter(pk__in=newly_failed).update(integrity_failed=True)
            Scan.objects.filter(pk__in=cleared).update(integrity_failed=False)
            hooks.run("scan_integrity_changed", newly_failed, cleared)
    outcomes = InspectionOutcome.objects.select_related("key", "agency").order_by("pk")
    for outcome in outcomes.iterator(chunk_size=CHUNK):
        checked += 1
        status = outcome_signature_status(outcome)
        if status != SignatureStatus.VERIFIED:
            problems.append(Finding("outcome", str(outcome.pk), 1, status))
    return problems, checked
