"""Reads for correlation notices and one-sided hits, on top of `access.correlations`."""

from scans.models import Scan
from sharing.selectors import audit_reads


def audit_side_reads(user, sides, *, via: str) -> None:
    """Correlation sides that are alerts show the alert's title: a read like any other (SPEC section 9)."""
    alerts = {obj.pk: obj for obj in sides if obj is not None and not isinstance(obj, Scan)}
    audit_reads(user, list(alerts.values()), object_type="alert", via=via)
