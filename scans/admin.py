"""Django admin for scans: metadata only (SPEC section 4): no containers, vessels, notes or JWS."""

from django.contrib import admin

from ports.admin_metadata import MetadataOnlyAdmin

from .models import Delivery, InspectionOutcome, Scan, ScanOutbox, Subscription


@admin.register(Scan)
class ScanAdmin(MetadataOnlyAdmin):
    list_display = ["id", "node", "port", "verdict", "received_at", "integrity_failed"]
    list_filter = ["verdict"]


@admin.register(InspectionOutcome)
class InspectionOutcomeAdmin(MetadataOnlyAdmin):
    list_display = ["id", "scan", "agency", "result", "created_at"]


@admin.register(ScanOutbox)
class ScanOutboxAdmin(MetadataOnlyAdmin):
    list_display = ["scan", "created_at", "attempts", "processed_at"]


@admin.register(Delivery)
class DeliveryAdmin(MetadataOnlyAdmin):
    list_display = ["id", "scan", "agency", "reason", "created_at", "acknowledged_at"]


@admin.register(Subscription)
class SubscriptionAdmin(MetadataOnlyAdmin):
    list_display = ["id", "agency", "port", "origin", "min_verdict", "is_active"]
