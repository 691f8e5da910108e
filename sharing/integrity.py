"""Whole-table signature checks: `manage.py verify_signatures` and the periodic verifier (beat).

Reads recompute every status from the JWS; this sweep exists so that counts,
which cannot verify a million rows per request, exclude objects known to be
invalid after its next run (SPEC section 3). Alerts and practices are checked
here; scans and outcomes in `scans.integrity`; `verify_all` runs both, in the
order `alliance.hooks` lists them.
"""

from collections.abc import Iterator

import access
from alliance import hooks
from ports.signing import Finding, SignatureStatus

from . import documents
from .models import Alert, AlertVersion, Practice, PracticeVersion

CHUNK = 500


def _heads(model, rows, typ: str, kind: str) -> Iterator[tuple[Finding, object]]:
    for obj in rows(model.objects.order_by("pk")).iterator(chunk_size=CHUNK):
        yield Finding(kind, str(obj.pk), obj.version, documents.signature_status(obj, typ=typ)), obj


def _versions(model, fk: str, typ: str, kind: str) -> Iterator[tuple[Finding, object]]:
    qs = model.objects.select_related("agency", "key").order_by(fk, "version")
    for obj in qs.iterator(chunk_size=CHUNK):
        status = documents.signature_status(obj, typ=typ)
        yield Finding(kind, str(getattr(obj, f"{fk}_id")), obj.version, status), obj


def verify_documents(*, mark: bool) -> tuple[list[Finding], int]:
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
    return problems, checked


def verify_all(*, mark: bool) -> tuple[list[Finding], int]:
    """Every verifier of `alliance.hooks` in order (documents here, then scans and outcomes)."""
    problems: list[Finding] = []
    checked = 0
    for found, count in hooks.run("verifiers", mark=mark):
        problems.extend(found)
        checked += count
    return problems, checked
