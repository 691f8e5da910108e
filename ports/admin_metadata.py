"""The base of every content-bearing model's Django admin: metadata only (SPEC section 4).

Superusers administer but never read alert, practice, feedback or scan content:
only the listed metadata fields are rendered, nothing is searchable by content,
and nothing can be added, changed or deleted there.
"""

from django.contrib import admin


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
