"""Portal shell: login, logout, home, and the TOTP second factor."""

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .selectors import active_memberships


class LoginView(auth_views.LoginView):
    template_name = "ports/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        audit.record(user, "auth.login", user, {"ip": self.request.META.get("REMOTE_ADDR")})
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            return redirect(f"/account/2fa/verify/?next={self.get_success_url()}")
        return response


@login_required
def home(request):
    items = list(active_memberships(request.user))
    return render(request, "ports/home.html", {"home_memberships": items})


class TotpForm(forms.Form):
    token = forms.CharField(
        max_length=8,
        label="Six-digit code",
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
        messages.info(request, "Your second factor is already set up.")
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
            messages.success(request, "Second factor set up and verified for this session.")
            return redirect("home")
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "ports/totp_setup.html", {"form": form, "qr": _qr_data_uri(device), "secret": secret})


@login_required
@require_http_methods(["GET", "POST"])
def totp_verify(request):
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("totp_setup")
    form = TotpForm(request.POST or None)
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = "/"
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"].strip()):
                otp_login(request, device)
                audit.record(request.user, "auth.totp_verified", request.user)
                return redirect(next_url)
        audit.record(request.user, "auth.totp_failed", request.user)
        form.add_error("token", "That code is not valid.")
    return render(request, "ports/totp_verify.html", {"form": form, "next": next_url})
