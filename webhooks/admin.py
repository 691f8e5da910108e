"""Django admin: webhook endpoints and send records, read-only metadata (never the scan content)."""

from django.contrib import admin

from .models import Endpoint, WebhookDelivery


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ["id", "agency", "url", "is_active", "created_at"]
    list_filter = ["is_active"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ["id", "endpoint", "delivery_id", "state", "attempts", "last_status", "next_attempt_at"]
    list_filter = ["state"]
    fields = ["endpoint", "delivery_id", "state", "attempts", "first_attempt_at", "last_attempt_at", "last_status"]
