"""Correlation notices (SPEC section 6): a container or vessel seen on both sides of the alliance.

A notice links two objects (each a scan or an alert). Who gets it is decided at
read time by the access rule: a reader who can read both sides. When one side
is hidden from the other side's owner, the owner of the hidden side gets a
one-sided hit and may share.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency, Membership
from scans.models.scans import Scan
from sharing.models.alerts import Alert

__all__ = ["CorrelationKind", "Correlation", "HitStatus", "OneSidedHit"]


class CorrelationKind(models.TextChoices):
    CONTAINER = "container", _("Container")
    VESSEL = "vessel", _("Vessel")


class Correlation(models.Model):
    """Side a is the newer object (what triggered the match), side b the earlier one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=CorrelationKind.choices)
    value = models.CharField(max_length=11)  # container number or IMO
    scan_a = models.ForeignKey(Scan, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    alert_a = models.ForeignKey(Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    scan_b = models.ForeignKey(Scan, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    alert_b = models.ForeignKey(Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The identity that makes matching idempotent: the pair of objects for containers, (vessel, port pair,
    # ISO week) for vessels ("one notice per vessel and port pair a week").
    pair_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sharing_correlation"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(scan_a__isnull=True) ^ Q(alert_a__isnull=True))
                & (Q(scan_b__isnull=True) ^ Q(alert_b__isnull=True)),
                name="correlation_one_object_per_side",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="correlation_feed"),
            models.Index(fields=["scan_a"], name="correlation_scan_a"),
            models.Index(fields=["scan_b"], name="correlation_scan_b"),
            models.Index(fields=["alert_a"], name="correlation_alert_a"),
            models.Index(fields=["alert_b"], name="correlation_alert_b"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    def side(self, which: str):
        return getattr(self, f"scan_{which}") or getattr(self, f"alert_{which}")


class HitStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SHARED = "shared", _("Shared")
    DISMISSED = "dismissed", _("Dismissed")


class OneSidedHit(models.Model):
    """`other_agency` cannot read side `hidden_side` (owned by `owner_agency`); only the owner is told."""

    correlation = models.ForeignKey(Correlation, on_delete=models.CASCADE, related_name="hits")
    hidden_side = models.CharField(max_length=1, choices=[("a", "a"), ("b", "b")])
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    other_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=HitStatus.choices, default=HitStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        db_table = "sharing_onesidedhit"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["correlation", "hidden_side", "other_agency"], name="one_hit_per_side_and_agency"
            ),
            models.CheckConstraint(condition=Q(status__in=HitStatus.values), name="hit_status_valid"),
        ]
        indexes = [models.Index(fields=["owner_agency", "status", "-created_at"], name="hit_inbox")]

    def __str__(self) -> str:
        return f"hit {self.correlation_id} side {self.hidden_side} hidden from {self.other_agency_id}"
