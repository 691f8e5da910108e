"""Whole-table signature checks: `manage.py verify_signatures` and the periodic verifier (beat).

Reads recompute every status from the JWS; this sweep exists so that counts,
which cannot verify a million rows per request, exclude objects known to be
invalid after its next run (SPEC section 3).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from . import access, documents
from .models import Alert, AlertVersion, Practice, PracticeVersion
from .signing import SignatureStatus

CHUNK = 500


@dataclass(frozen=True)
class Finding:
    kind: str  # "alert", "alert version", ...
    object_id: str
    version: int
    status: str

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} version {self.version}: {self.status}"


# Called inside the marking transaction with (newly failed scan ids, cleared scan ids).
scan_integrity_hooks: list = []


def _heads(model, rows, typ: str, kind: str) -> Iterator[tuple[Finding, object]]:
    for obj in rows(model.objects.order_by("pk")).iterator(chunk_size=CHUNK):
        yield Finding(kind, str(obj.pk), obj.version, documents.signature_status(obj, typ=typ)), obj


def _versions(model, fk: str, typ: str, kind: str) -> Iterator[tuple[Finding, object]]:
    qs = model.objects.select_related("agency", "key").order_by(fk, "version")
    for obj in qs.iterator(chunk_size=CHUNK):
        status = documents.signature_status(obj, typ=typ)
        yield Finding(kind, str(getattr(obj, f"{fk}_id")), obj.version, status), obj


def verify_all(*, mark: bool) -> tuple[list[Finding], int]:
    """Check every stored alert and practice (head and versions). Returns (problems, objects checked).

    With `mark`, head rows get `integrity_failed` set or cleared to match, so that counts follow.
    """
    problems: list[Finding] = []
    checked = 0
    for model, rows, typ, kind in (
        (Alert, access.alert_rows, documents.ALERT_TYP, "alert"),
        (Practice, access.practice_rows, documents.PRACTICE_TYP, "practice"),
    ):
        bad_ids = []
        for finding, obj in _heads(model, rows, typ, kind):
            checked += 1
            if finding.status != SignatureStatus.VERIFIED:
                problems.append(finding)
            if finding.status == SignatureStatus.INVALID:
                bad_ids.append(obj.pk)
        if mark:
            model.objects.filter(pk__in=bad_ids, integrity_failed=False).update(integrity_failed=True)
            model.objects.filter(integrity_failed=True).exclude(pk__in=bad_ids).update(integrity_failed=False)
    for model, fk, typ, kind in (
        (AlertVersion, "alert", documents.ALERT_TYP, "alert version"),
        (PracticeVersion, "practice", documents.PRACTICE_TYP, "practice version"),
    ):
        for finding, _ in _versions(model, fk, typ, kind):
            checked += 1
            if finding.status != SignatureStatus.VERIFIED:
                problems.append(finding)
    scan_problems, scan_checked = _verify_scans(mark=mark)
    return problems + scan_problems, checked + scan_checked


def _verify_scans(*, mark: bool) -> tuple[list[Finding], int]:
    """Scans (signed by their node) and inspection outcomes (signed by the agency)."""
    from . import scan_documents
    from .models import InspectionOutcome, Scan
    from .services.outcomes import outcome_signature_status

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
            # Counts that follow the flag (rollups) change in the same transaction.
            for hook in scan_integrity_hooks:
                hook(newly_failed, cleared)
    outcomes = InspectionOutcome.objects.select_related("key", "agency").order_by("pk")
    for outcome in outcomes.iterator(chunk_size=CHUNK):
        checked += 1
        status = outcome_signature_status(outcome)
        if status != SignatureStatus.VERIFIED:
            problems.append(Finding("outcome", str(outcome.pk), 1, status))
    return problems, checked
