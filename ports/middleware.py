"""Per-request context: the reader's time zone, the session idle and absolute timeouts, the second-factor gate."""

import time
import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django_otp.plugins.otp_totp.models import TOTPDevice

from .auth import TokenAuthentication
from .views import verify_url


class ReaderTimezoneMiddleware:
    """Times are shown in the reader's time zone; sessions idle too long, or older than their lifetime, end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get("last_seen")
            # Writing `last_seen` re-saves the session, which slides Django's own expiry: the
            # absolute lifetime is therefore counted from the session's first request here.
            started = request.session.setdefault("started", now)
            idle = last is not None and now - last > settings.SESSION_IDLE_TIMEOUT
            if idle or now - started > settings.SESSION_COOKIE_AGE:
                logout(request)
            else:
                if last is None or now - last > 60:
                    request.session["last_seen"] = now
                profile = getattr(user, "profile", None)
                try:
                    timezone.activate(zoneinfo.ZoneInfo(profile.timezone if profile else "UTC"))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        return response


def chosen_language(user) -> str:
    """The member's own choice from the account page, if it is still one of `settings.LANGUAGES`."""
    if user is None or not user.is_authenticated:
        return ""
    profile = getattr(user, "profile", None)
    language = profile.language if profile is not None else ""
    return language if language in dict(settings.LANGUAGES) else ""


class ReaderLanguageMiddleware:
    """The portal speaks the member's chosen language, else the browser's (Accept-Language, then the default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A missing profile row reads as None (its accessor's error is an AttributeError): the browser decides.
        language = chosen_language(getattr(request, "user", None)) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        patch_vary_headers(response, ("Accept-Language",))
        translation.deactivate()
        return response


SECOND_FACTOR_REQUIRED = "second_factor_required"


def second_factor_pending(user) -> bool:
    """A person with a confirmed TOTP device whose session has not been verified with it yet."""
    if user is None or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)  # installed by django-otp's middleware; absent means not verified
    if is_verified is not None and is_verified():
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_token_request(request) -> bool:
    """An API call carrying a token: DRF authenticates it by that token alone, never by the session.

    `ports.auth.TokenAuthentication` either accepts the token or refuses the request with 401;
    any other Authorization scheme falls through to the session, so it is not a token request.
    """
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split()[:1]
    return [word.lower() for word in scheme] == [TokenAuthentication.keyword.lower()]


def _open_before_second_factor(request) -> bool:
    """The verify form itself, leaving (logout, or logging in as someone else), static files and health,
    and the language switcher and JavaScript catalogue (the verify form is translated too)."""
    open_paths = {reverse("totp_verify"), reverse("logout"), reverse("login"), reverse("healthz")}
    open_paths |= {reverse("set_language"), reverse("javascript-catalog")}
    return request.path in open_paths or request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/"))


class SecondFactorGateMiddleware:
    """A session of someone with a confirmed TOTP device is usable only once the second factor is verified.

    Until then every page redirects to the verify form (keeping where they were going) and every
    session-authenticated API call answers 403 (SPEC section 2). This is the one place that rule lives:
    views and permissions must not each remember it. A personal token is not a session, so a request
    authenticated by a token goes on to DRF, which ignores the session for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _open_before_second_factor(request) or not second_factor_pending(getattr(request, "user", None)):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            if is_token_request(request):
                return self.get_response(request)
            return JsonResponse({"code": SECOND_FACTOR_REQUIRED, "errors": {}}, status=403)
        going_to = request.get_full_path() if request.method in ("GET", "HEAD") else request.path
        return redirect(verify_url(going_to))
