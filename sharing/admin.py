"""Django admin for sharing: metadata only (SPEC section 4).

Superusers administer but never read alert, practice or feedback content here:
no title, body, notes or JWS are listed, shown or searchable, and nothing can
be edited.
"""

from django.contrib import admin

from ports.admin_metadata import MetadataOnlyAdmin

from .models import Alert, Practice


@admin.register(Alert)
class AlertAdmin(MetadataOnlyAdmin):
    list_display = ["id", "version", "agency", "tlp", "status", "created_at", "integrity_failed"]
    list_filter = ["tlp", "status"]


@admin.register(Practice)
class PracticeAdmin(MetadataOnlyAdmin):
    list_display = ["id", "version", "agency", "tlp", "status", "created_at", "integrity_failed"]
    list_filter = ["tlp", "status"]
