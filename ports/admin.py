"""Django admin for the operator: behind a second-factor session, every change audited (SPEC sections 4 and 8).

What a service owns (keys and their status, tokens, who is a member of which agency, an agency's kind,
a node's agency) is read-only here: changing it in the admin would skip the checks, the side effects and
the audit entry that service gives it. Revoke, rotate, offboard and register through the portal or the
management commands.
"""

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .models import Agency, ApiToken, AuditCheckpoint, AuditEntry, Membership, Port, ScannerNode, SigningKey
from .views import safe_next, verify_url


def audit_admin_change(request, action: str, obj, message) -> None:
    """One chain entry per object changed in Django admin: which fields, never their values."""
    audit.record(request.user, action, obj, {"via": "django-admin", "changes": message or []})


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object  # a mixin: the ModelAdmin it is put in front of supplies the hooks


class AuditedModelAdminMixin(_ModelAdmin):
    """Put in front of every registered ModelAdmin by `VerifiedAdminSite`.

    Django admin calls these hooks inside the transaction of the change, so the audit entry and the change
    land together; `log_deletions` runs before the delete, for the single delete and the bulk action alike.
    """

    def log_addition(self, request, obj, message):
        audit_admin_change(request, "admin.added", obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit_admin_change(request, "admin.changed", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_admin_change(request, "admin.deleted", obj, [])
        return super().log_deletions(request, queryset)


def audited_admin_class(admin_class: type) -> type:
    if issubclass(admin_class, AuditedModelAdminMixin):
        return admin_class
    return type(f"Audited{admin_class.__name__}", (AuditedModelAdminMixin, admin_class), {})


class VerifiedAdminSite(OTPAdminSite):
    """The default admin site, open only to staff whose session is verified with the second factor.

    Signing in happens in the portal (its lockout, its audit entry, its verify form), not on a second
    password form here. alliance/urls.py puts this class on `admin.site`.
    """

    def login(self, request, extra_context=None):
        next_url = safe_next(request, request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
        if not user.is_verified():
            if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                return redirect(verify_url(next_url))
            return redirect("totp_setup")
        if self.has_permission(request):
            return redirect(reverse("admin:index") if next_url == request.path else next_url)
        raise PermissionDenied("Django admin is for the alliance operator.")

    def password_change(self, request, extra_context=None):
        """The operator's own password, changed on the admin's form: not a ModelAdmin change, audited here."""
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            audit.record(request.user, "admin.password_changed", request.user, {"via": "django-admin"})
        return response

    def get_urls(self):
        self.audit_every_model_admin()
        return super().get_urls()

    def audit_every_model_admin(self) -> None:
        """Wrap every registered ModelAdmin, ours and third-party ones (auth, django-otp, axes) alike.

        Those apps register on the default site before alliance/urls.py swaps its class, so the wrapping
        happens here, when the site builds its URLs, rather than in `register()`.
        """
        for model, model_admin in list(self._registry.items()):
            admin_class = audited_admin_class(type(model_admin))
            if admin_class is not type(model_admin):
                self._registry[model] = admin_class(model, self)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceOwnedAdmin(admin.ModelAdmin):
    """Rows created and removed by a service only; `service_fields` are read-only once the row exists."""

    service_fields: tuple[str, ...] = ()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.service_fields]


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ["locode", "name", "country", "hub", "is_member"]
    list_filter = ["is_member", "hub"]
    search_fields = ["locode", "name"]

    def get_readonly_fields(self, request, obj=None):
        # The LOCODE is the primary key every agency, node and document refers to.
        return ["locode", "country"] if obj is not None else []


@admin.register(Agency)
class AgencyAdmin(ServiceOwnedAdmin):
    list_display = ["slug", "name", "kind", "sector", "port", "is_active"]
    list_filter = ["kind", "sector"]
    search_fields = ["slug", "name"]
    # The slug is in every handle and key label; the kind decides the sector the access rule reads.
    service_fields = ("slug", "kind", "sector", "port")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Joining is by consent (member_add, invitations), roles change through member_add (the operator's
    `add_member` grants liaison), leaving is member_offboard, which also revokes the person's tokens."""

    list_display = ["handle", "user", "agency", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["handle", "user__username", "agency__slug"]


@admin.register(ScannerNode)
class ScannerNodeAdmin(ServiceOwnedAdmin):
    list_display = ["id", "agency", "port", "is_active", "last_seen_at"]
    # Registered with its key and token by node_register; deactivated on the agency's node page.
    service_fields = ("id", "agency", "port", "agency_kind", "is_active", "created_at", "last_seen_at")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Rotation and revocation are services: a revoked key set back to active here would sign again."""

    list_display = ["kid", "owner_kind", "agency", "node", "held_by_portal", "status", "created_at"]
    list_filter = ["owner_kind", "status", "held_by_portal"]
    exclude = ["private_key_encrypted"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Issued and revoked by the services; clearing `revoked_at` here would bring a token back."""

    list_display = ["prefix", "kind", "user", "node", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["actor", "object_id"]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "hash", "created_at"]


# django-otp registers a TOTP device admin that shows each device's secret key (and a QR code of it): the
# operator sees metadata only, and may delete a lost device (audited like every change here), nothing else.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyAdmin):
    list_display = ("user", "name", "confirmed")
    fields = ("user", "name", "confirmed")
    readonly_fields = ("user", "name", "confirmed")

    def has_delete_permission(self, request, obj=None):
        return True
