"""Webhook endpoints of public-sector agencies, and one send record per (endpoint, delivery)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency, Membership
from scans.models import Delivery


class Endpoint(models.Model):
    """An https URL an agency admin registered. There is no shared secret: the portal signs every body."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Removing an endpoint keeps its row and send history (what was sent where stays on record).
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "url"], condition=Q(is_active=True), name="webhook_endpoint_unique_active_url"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}: {self.url}"


class State(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Dead letter")
    DROPPED = "dropped", _("Dropped (no longer readable, or endpoint removed)")


class WebhookDelivery(models.Model):
    """One relayed delivery to one endpoint. Unique per (endpoint, delivery): a relay replay never double-sends.

    CASCADE from the delivery: when a scan (and so its deliveries) is removed by
    retention, there is nothing left that may be sent, and no reason to keep a
    queue entry pointing at it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="webhook_deliveries")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)  # the 24-hour retry window starts here
    next_attempt_at = models.DateTimeField()
    # A worker owns the row until `claimed_until`; the token makes sure only that worker records the result.
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "delivery"], name="one_webhook_send_per_endpoint_delivery"),
            models.CheckConstraint(condition=Q(state__in=State.values), name="webhook_state_valid"),
            models.CheckConstraint(condition=~Q(state="sent") | Q(sent_at__isnull=False), name="webhook_sent_has_time"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state__in=["pending", "failed"]), name="webhook_due"),
            models.Index(fields=["endpoint", "state", "-created_at"], name="webhook_endpoint_state"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} -> endpoint {self.endpoint_id}: {self.state}"
