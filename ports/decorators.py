"""Page decorators shared by every app's administration pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .selectors import active_memberships
from .views import verify_url


def verified_admin_required(view):
    """Agency administration: an admin membership and a session verified with TOTP."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if not active_memberships(request.user).filter(role="admin").exists():
            return HttpResponseForbidden(_("Agency administration is for agency admins."))
        if not request.user.is_verified():
            messages.warning(request, _("Agency administration needs your second factor."))
            if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
                return redirect(verify_url(request.path))
            return redirect("totp_setup")
        return view(request, *args, **kwargs)

    return wrapper


def verified_operator_required(view):
    """The alliance operator's pages (SPEC 10.1, peers): a superuser in a session verified with TOTP."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            return HttpResponseForbidden(_("This page is for the alliance operator."))
        if not request.user.is_verified():
            messages.warning(request, _("The operator's pages need your second factor."))
            if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
                return redirect(verify_url(request.path))
            return redirect("totp_setup")
        return view(request, *args, **kwargs)

    return wrapper
