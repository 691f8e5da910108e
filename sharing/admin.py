"""Django admin for sharing: metadata only (SPEC section 4).

Superusers administer but never read alert, practice, feedback or scan content
here: no title, body, containers, vessels, notes or JWS are listed, shown or
searchable, and nothing can be edited.
"""

from django.contrib import admin

from .models import (
    Alert,
    Delivery,
    InspectionOutcome,
    Practice,
    Scan,
    ScanOutbox,
    Subscription,
)


class MetadataOnlyAdmin(admin.ModelAdmin):
    """Read-only, and only the listed metadata fields are ever rendered."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return self.list_display

    def get_readonly_fields(self, request, obj=None):
        return self.list_display


@admin.register(Alert)
class AlertAdmin(MetadataOnlyAdmin):
    list_display = ["id", "version", "agency", "tlp", "status", "created_at", "integrity_failed"]
    list_filter = ["tlp", "status"]


@admin.register(Practice)
class PracticeAdmin(MetadataOnlyAdmin):
    list_display = ["id", "version", "agency", "tlp", "status", "created_at", "integrity_failed"]
    list_filter = ["tlp", "status"]


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
