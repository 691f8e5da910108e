"""Relay of scans to the agencies that need them: deliveries (the inbox) and subscriptions."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency, Membership, Port

from .scans import Scan, Verdict

__all__ = ["DeliveryReason", "Delivery", "Subscription"]


class DeliveryReason(models.TextChoices):
    PORT = "port", _("Scanned at your port")
    ROUTE = "route", _("Bound for your port")
    SUBSCRIPTION = "subscription", _("Matches your subscription")
    SHARED = "shared", _("Shared with you")


class Delivery(models.Model):
    """One scan in one agency's inbox. Unique per (scan, agency): relaying twice changes nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="deliveries")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="deliveries")
    reason = models.CharField(max_length=16, choices=DeliveryReason.choices)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        db_table = "sharing_delivery"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["scan", "agency"], name="one_delivery_per_scan_and_agency")]
        indexes = [
            models.Index(fields=["agency", "-created_at"], name="delivery_inbox"),
            models.Index(fields=["agency", "acknowledged_at"], name="delivery_unacked"),
        ]

    def __str__(self) -> str:
        return f"{self.scan_id} -> {self.agency_id}"


class Subscription(models.Model):
    """A public-sector agency asks for scans by port, origin and minimum verdict (null = any)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="subscriptions")
    port = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    min_verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.SUSPECT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "sharing_subscription"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["agency_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(min_verdict__in=Verdict.values), name="subscription_verdict_valid"),
            models.UniqueConstraint(
                fields=["agency", "port", "origin", "min_verdict"],
                name="subscription_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["is_active", "port", "origin"], name="subscription_match")]

    def __str__(self) -> str:
        return f"{self.agency_id}: {self.port_id or '*'} from {self.origin_id or '*'} >= {self.min_verdict}"
