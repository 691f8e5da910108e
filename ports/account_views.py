"""The account holder's own page, /account/ (SPEC sections 2 and 8): password, second factor, personal
tokens, time zone, language, email, and invitations to join agencies (membership consent).

Every object named here is the holder's own: the selectors answer 404 for anyone else's.
"""

import zoneinfo
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import selectors, services
from .models import EmailMode


class PasswordForm(forms.Form):
    old_password = forms.CharField(
        label=gettext_lazy("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        help_text=gettext_lazy("At least 12 characters, not a common password, not all digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=gettext_lazy("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("new_password1") and data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", _("The two new passwords differ."))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    membership = forms.TypedChoiceField(label=gettext_lazy("Acts for"), coerce=int)
    days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"),
        min_value=1,
        max_value=services.TOKEN_MAX_DAYS,
        initial=services.TOKEN_DEFAULT_DAYS,
        help_text=gettext_lazy("At most 365 days."),
    )
    read_only = forms.BooleanField(label=gettext_lazy("Read-only (GET requests only)"), required=False, initial=False)

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["membership"]).choices = [
            (m.pk, f"{m.agency.name} · {m.get_role_display()}") for m in memberships
        ]


class RemoveTotpForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("A current code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.Form):
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone"))
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    email_alerts = forms.ChoiceField(
        label=gettext_lazy("Alerts addressed to me or my agency"), choices=EmailMode.choices
    )
    email_correlations = forms.ChoiceField(
        label=gettext_lazy("Correlation notices and hits"), choices=EmailMode.choices
    )
    email_deliveries = forms.ChoiceField(
        label=gettext_lazy("Deliveries to my agency's inbox"), choices=EmailMode.choices
    )
    email_displacement = forms.ChoiceField(label=gettext_lazy("Displacement flags"), choices=EmailMode.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["timezone"]).choices = _timezone_choices()
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            ("", _("As my browser asks"))
        ] + services.language_choices()


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, field_errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


def _page(request, *, status: int = 200, new_token=None, raw_token: str = "", **forms_in):
    user = request.user
    profile = selectors.profile_of(user)
    memberships = list(selectors.active_memberships(user))
    context = {
        "profile": profile,
        "memberships": memberships,
        "preferences_form": forms_in.get("preferences_form")
        or PreferencesForm(initial={field: getattr(profile, field) for field in PreferencesForm.base_fields}),
        "password_form": forms_in.get("password_form") or PasswordForm(),
        "token_form": forms_in.get("token_form") or TokenForm(memberships=memberships),
        "remove_totp_form": forms_in.get("remove_totp_form") or RemoveTotpForm(),
        "tokens": list(selectors.account_tokens(user)),
        "has_totp": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "totp_removal_refused": services.totp_removal_refused(user),
        "invitations": list(selectors.pending_invitations(user)),
        "new_token": new_token,
        "raw_token": raw_token,
    }
    response = render(request, "ports/account.html", context, status=status)
    # The page may show a new token's only copy: never kept by a browser or proxy cache.
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def account(request):
    return _page(request)


@login_required
@require_POST
def preferences(request):
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, preferences_form=form)
    try:
        services.preferences_update(user=request.user, data=form.cleaned_data)
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _page(request, status=400, preferences_form=form)
    messages.success(request, _("Your preferences are saved."))
    return redirect("account")


@login_required
@require_POST
def password(request):
    form = PasswordForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, password_form=form)
    try:
        services.password_change(
            user=request.user,
            old_password=form.cleaned_data["old_password"],
            new_password=form.cleaned_data["new_password1"],
        )
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _page(request, status=400, password_form=form)
    update_session_auth_hash(request, request.user)  # this session stays; the others end
    messages.success(request, _("Your password is changed. Your other sessions have ended."))
    return redirect("account")


@login_required
@require_POST
def totp_remove(request):
    form = RemoveTotpForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, remove_totp_form=form)
    try:
        services.totp_remove(user=request.user, code=form.cleaned_data["code"])
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _page(request, status=400, remove_totp_form=form)
    messages.success(request, _("Your second factor is removed."))
    return redirect("account")


@never_cache
@login_required
@require_POST
def token_create(request):
    memberships = list(selectors.active_memberships(request.user))
    form = TokenForm(request.POST, memberships=memberships)
    if not form.is_valid():
        return _page(request, status=400, token_form=form)
    try:
        token, raw = services.account_token_create(
            user=request.user,
            membership_id=form.cleaned_data["membership"],
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            read_only=form.cleaned_data["read_only"],
        )
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _page(request, status=400, token_form=form)
    # Shown in this one answer only: not in a message, a session or a redirect that could replay it.
    return _page(request, status=201, new_token=token, raw_token=raw)


@login_required
@require_POST
def token_revoke(request, public_id):
    token = selectors.account_token(request.user, public_id)
    services.account_token_revoke(user=request.user, token=token)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("account")


@login_required
def invitations(request):
    return render(request, "ports/invitations.html", {"invitations": selectors.pending_invitations(request.user)})


@login_required
@require_POST
def invitation_answer(request, invitation_id, answer):
    """Accept or decline one of the holder's own pending invitations (anyone else's is a 404)."""
    invitation = selectors.pending_invitation(request.user, invitation_id)
    try:
        if answer == "accept":
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        else:
            services.invitation_decline(invitation=invitation, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("account_invitations")
    if answer == "accept":
        messages.success(
            request,
            _("You are now %(role)s at %(agency)s (%(handle)s).")
            % {"role": membership.get_role_display(), "agency": membership.agency.name, "handle": membership.handle},
        )
    else:
        messages.info(request, _("You declined to join %(agency)s.") % {"agency": invitation.agency.name})
    back = request.POST.get("back")
    return redirect("account" if back == "account" else "account_invitations")


@require_POST
def set_language(request):
    """The header's language switcher: the language cookie (Django's view), and for a signed-in member also
    the stored choice of the account page, so that the most recent choice wins wherever it was made (the
    stored choice otherwise outranks the cookie on every later page). A session still waiting for its second
    factor changes nothing of the account."""
    from .middleware import second_factor_pending

    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if (
        user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and not second_factor_pending(user)
        and services.preferences_language(user) != language
    ):
        services.preferences_update(user=user, data={"language": language})
    return response
