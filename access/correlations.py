"""Correlation notices and one-sided hits, decided per member (SPEC section 6).

A member who reads both sides gets the notice; a one-sided hit reaches only the members of the owning agency
who read its hidden side themselves (a RED alert's hit stays with its readers).
"""

from typing import Any

from django.db.models import Q, QuerySet

from correlation.models import Correlation, OneSidedHit

from .documents import alerts_visible_to
from .reader import reader_for
from .scans import scans_visible_to


def correlations_visible_to(user: Any) -> QuerySet[Correlation]:
    """Notices whose both sides the reader can read (the access rule, twice, as subqueries)."""
    scans = scans_visible_to(user).values("pk")
    alerts = alerts_visible_to(user).values("pk")
    side = {w: Q(**{f"scan_{w}__in": scans}) | Q(**{f"alert_{w}__in": alerts}) for w in "ab"}
    return Correlation.objects.filter(side["a"] & side["b"]).select_related(
        "scan_a", "scan_b", "alert_a__agency", "alert_b__agency"
    )


def hits_for(user: Any) -> QuerySet[OneSidedHit]:
    """One-sided hits about objects owned by the reader's agencies (only the hidden side's owner is told)."""
    reader = reader_for(user)
    # Only colleagues who may read the hidden side itself see the hit (a RED alert's hit stays with its readers).
    scans = scans_visible_to(user).values("pk")
    alerts = alerts_visible_to(user).values("pk")
    readable = Q()
    for w in "ab":
        readable |= Q(hidden_side=w) & (
            Q(**{f"correlation__scan_{w}__in": scans}) | Q(**{f"correlation__alert_{w}__in": alerts})
        )
    return OneSidedHit.objects.filter(readable, owner_agency_id__in=reader.agency_ids).select_related(
        "correlation", "owner_agency", "other_agency", "correlation__scan_a", "correlation__scan_b"
    )
