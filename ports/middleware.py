"""Per-request context: the reader's time zone, and the session idle and absolute timeouts."""

import time
import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.utils import timezone


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
