from django.contrib import admin

from .models import Agency, ApiToken, AuditCheckpoint, AuditEntry, Membership, Port, ScannerNode, SigningKey


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ["locode", "name", "country", "hub", "is_member"]
    list_filter = ["is_member", "hub"]
    search_fields = ["locode", "name"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "sector", "port", "is_active"]
    list_filter = ["kind", "sector"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["handle", "user", "agency", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["handle", "user__username", "agency__slug"]
    readonly_fields = ["handle", "agency_sector"]


@admin.register(ScannerNode)
class ScannerNodeAdmin(admin.ModelAdmin):
    list_display = ["id", "agency", "port", "is_active", "last_seen_at"]
    readonly_fields = ["port", "agency_kind", "last_seen_at"]


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ["kid", "owner_kind", "agency", "node", "held_by_portal", "status", "created_at"]
    list_filter = ["owner_kind", "status", "held_by_portal"]
    exclude = ["private_key_encrypted"]
    readonly_fields = ["kid", "x", "owner_kind", "agency", "node", "held_by_portal", "created_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "kind", "user", "node", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "kind", "user", "node", "created_at", "last_used_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["actor", "object_id"]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "hash", "created_at"]
