"""Portal shell: login, logout and the TOTP second factor (the home page is `notifications.views.home`)."""

import base64
import unicodedata
from urllib.parse import unquote, urlencode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, services


def safe_next(request, candidate: str | None) -> str:
    """Where to go after login or the second factor: a path on this site, else the home page.

    Django's host check alone lets through a relative "java script:..." and a percent-encoded
    backslash ("/%5Cevil.example"), which some clients turn into "//evil.example"; so the target
    must start with one slash, and neither it nor its decoded form may hold a backslash, a
    second leading slash, or a control character (nor whitespace before decoding).
    """
    if not candidate or not candidate.startswith("/"):
        return "/"
    decoded = unquote(candidate)
    if decoded.startswith("//") or "\\" in decoded:
        return "/"
    if any(ch.isspace() for ch in candidate) or any(unicodedata.category(ch).startswith("C") for ch in decoded):
        return "/"
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return candidate


def verify_url(next_url: str) -> str:
    """The verify form, then `next_url` (its own query string quoted so that it survives as one value)."""
    return f"{reverse('totp_verify')}?{urlencode({'next': next_url}, safe='/')}"


class LoginView(auth_views.LoginView):
    template_name = "ports/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        requested = self.request.POST.get(self.redirect_field_name, self.request.GET.get(self.redirect_field_name))
        return safe_next(self.request, requested) if requested else ""

    def form_valid(self, form):
        # Before Django's login moves `last_login` on: the home page shows what is new since that visit.
        services.visit_record(user=form.get_user())
        response = super().form_valid(form)
        user = form.get_user()
        audit.record(user, "auth.login", user, {"ip": self.request.META.get("REMOTE_ADDR")})
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            return redirect(verify_url(self.get_success_url()))
        return response


class TotpForm(forms.Form):
    token = forms.CharField(
        max_length=8,
        label=gettext_lazy("Six-digit code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _qr_data_uri(device: TOTPDevice) -> str:
    svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    """Enrol a TOTP device (the QR code is an image, not inline script or style)."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        messages.info(request, _("Your second factor is already set up."))
        return redirect("totp_verify")
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="authenticator", confirmed=False)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit.record(request.user, "auth.totp_enrolled", request.user)
            messages.success(request, _("Second factor set up and verified for this session."))
            return redirect("home")
        form.add_error("token", _("That code is not valid. Check the time on your phone and try again."))
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "ports/totp_setup.html", {"form": form, "qr": _qr_data_uri(device), "secret": secret})


@login_required
@require_http_methods(["GET", "POST"])
def totp_verify(request):
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("totp_setup")
    form = TotpForm(request.POST or None)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"].strip()):
                otp_login(request, device)
                audit.record(request.user, "auth.totp_verified", request.user)
                return redirect(next_url)
        audit.record(request.user, "auth.totp_failed", request.user)
        form.add_error("token", _("That code is not valid."))
    return render(request, "ports/totp_verify.html", {"form": form, "next": next_url})
