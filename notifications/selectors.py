"""What is new for a member (the home page), and the messages the file email backend wrote (dev only).

Every list goes through `access`; every list is bounded.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

import access
from ports.selectors import profile_of

HOME_LIMIT = 8
FIRST_VISIT_DAYS = 7
ALERT_TYP = "alert+json"  # sharing.documents.ALERT_TYP (notifications sits below sharing)
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
MAIL_FILES = 200
MAIL_MESSAGES = 50


@dataclass
class WhatsNew:
    since: datetime
    alerts: list[Any] = field(default_factory=list)
    alerts_count: int = 0
    deliveries: list[Any] = field(default_factory=list)
    deliveries_count: int = 0
    hits: list[Any] = field(default_factory=list)
    hits_count: int = 0
    flags: list[Any] = field(default_factory=list)
    flags_count: int = 0
    notices: list[Any] = field(default_factory=list)
    unread_count: int = 0


def whats_new(user: Any) -> WhatsNew:
    """Since the member's previous login (a first visit: the last week): new alerts they read, their
    agencies' unacknowledged deliveries, open one-sided hits and displacement flags, unread notices.
    A fixed number of queries whatever the volume (each list is a slice and a count)."""
    profile = profile_of(user)
    since = profile.previous_visit_at or (timezone.now() - timedelta(days=FIRST_VISIT_DAYS))
    reader = access.reader_for(user)
    new = WhatsNew(since=since)

    alerts = access.alerts_visible_to(user).filter(first_created_at__gt=since).exclude(author__in=reader.handles)
    rows = list(access.alert_rows(alerts.order_by("-first_created_at", "-id"))[:HOME_LIMIT])
    new.alerts = access.verified_for(user, rows, typ=ALERT_TYP)
    new.alerts_count = alerts.count()

    if reader.is_public_sector:
        deliveries = access.deliveries_visible_to(user).filter(acknowledged_at__isnull=True)
        page = list(access.delivery_rows(deliveries.order_by("-created_at", "-id"))[:HOME_LIMIT])
        new.deliveries = access.signed_deliveries(user, page)
        new.deliveries_count = deliveries.count()
        flags = access.flags_visible_to(user).filter(detected_at__gt=since)
        new.flags = list(
            flags.select_related("from_port", "to_port", "origin").order_by("-detected_at", "-id")[:HOME_LIMIT]
        )
        new.flags_count = flags.count()

    hits = access.hits_for(user).filter(created_at__gt=since, status="open")
    new.hits = list(hits.order_by("-created_at", "-id")[:HOME_LIMIT])
    new.hits_count = hits.count()

    notices = access.notifications_for(user).filter(read_at__isnull=True)
    new.notices = list(notices[:HOME_LIMIT])
    new.unread_count = notices.count()
    return new


# ---------------------------------------------------------------- the file email backend's messages


def file_backend_on() -> bool:
    return settings.EMAIL_BACKEND == FILE_BACKEND


def _messages_in(path: Path) -> list[str]:
    # The file backend writes each message followed by a line of 79 dashes.
    text = path.read_text(encoding="utf-8", errors="replace")
    return [part.strip("\n") for part in text.split("-" * 79) if part.strip()]


def mails_for(user: Any, *, limit: int = MAIL_MESSAGES) -> list[dict[str, Any]]:
    """The newest messages addressed to the member's own email address (nobody reads another's mail)."""
    address = (getattr(user, "email", "") or "").strip().lower()
    folder = Path(settings.EMAIL_FILE_PATH)
    if not address or not folder.is_dir():
        return []
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:MAIL_FILES]
    found: list[dict[str, Any]] = []
    for path in files:
        for raw in reversed(_messages_in(path)):
            message = message_from_string(raw, policy=policy.default)
            to = {a.lower() for _, a in getaddresses(message.get_all("To", []))}
            if address not in to:
                continue
            body = message.get_body(preferencelist=("plain",))
            found.append(
                {
                    "subject": str(message.get("Subject", "")),
                    "date": str(message.get("Date", "")),
                    "to": address,
                    "body": body.get_content() if body is not None else "",
                }
            )
            if len(found) >= limit:
                return found
    return found
