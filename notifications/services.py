"""Creating and marking notices, and the email built on them.

Callers decide who may be told; the subject must say nothing the recipient could not read (name the
object, link to it; the page behind the link applies the access rule).

Email (SPEC section 8) never carries content above TLP:GREEN: the TLP label, the subject only when
the notice's document is GREEN or CLEAR, and a link. Notices about things without a label
(correlations, hits, deliveries, flags) are told by their kind alone: their subjects name containers,
vessels and ports. Each member chooses, per category, an email at once, a daily digest, or none.
"""

import logging
import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ports.models import EmailMode, Membership, Role, UserProfile

from . import subjects
from .models import EmailRecord, Notification

log = logging.getLogger(__name__)
User = get_user_model()

# Which preference of the member's profile decides the email of each kind of notice.
CATEGORY_OF_KIND = {
    "alert": "email_alerts",
    "alert.feedback": "email_alerts",
    "correlation": "email_correlations",
    "one_sided_hit": "email_correlations",
    "delivery": "email_deliveries",
    "displacement": "email_displacement",
}
KIND_SENTENCE = {
    "alert": _("A new alert is addressed to you or your agency."),
    "alert.feedback": _("There is new feedback on your agency's alert."),
    "correlation": _("A new correlation notice is waiting for you."),
    "one_sided_hit": _("One of your agency's records matches a record another agency holds (a one-sided hit)."),
    "delivery": _("New scans were delivered to your agency's inbox."),
    "displacement": _("A new displacement flag is waiting for you."),
}
# The labels whose document's title may go into an email (SPEC: nothing above TLP:GREEN).
EMAILABLE_TLPS = frozenset({"CLEAR", "GREEN"})
MAX_DIGEST_NOTICES = 200


def recipients(
    *, agencies: Iterable[int] = (), memberships: Iterable[int] = (), roles: Iterable[str] = ()
) -> list[int]:
    """Active memberships of the given agencies (optionally only some roles), plus the given memberships."""
    agencies, memberships, roles = list(agencies), list(memberships), list(roles)
    if not agencies and not memberships:
        return []
    by_agency = Q(agency_id__in=agencies)
    if roles:
        by_agency &= Q(role__in=roles)
    qs = Membership.objects.filter(is_active=True, user__is_active=True, agency__is_active=True).filter(
        by_agency | Q(id__in=memberships)
    )
    return sorted(set(qs.values_list("id", flat=True)))


def liaison_memberships() -> list[int]:
    return list(
        Membership.objects.filter(
            is_active=True, user__is_active=True, agency__is_active=True, role=Role.LIAISON
        ).values_list("id", flat=True)
    )


def _subject(subject: str | dict) -> tuple[str, dict | None]:
    """(English text, message): a message (`subjects.message`) is rendered in each reader's language later;
    plain text (an alert's title, written by its author) is shown as written."""
    if isinstance(subject, dict):
        return subjects.english(subject), subject
    return str(subject), None


def notify(
    *,
    kind: str,
    subject: str | dict,
    url: str = "",
    agencies: Iterable[int] = (),
    memberships: Iterable[int] = (),
    roles: Iterable[str] = (),
    tlp: str = "",
    exclude_memberships: Iterable[int] = (),
) -> int:
    """One notice per recipient membership; returns how many were created.

    Members who chose immediate email for this kind get one, queued when the transaction commits.
    """
    excluded = set(exclude_memberships)
    ids = [m for m in recipients(agencies=agencies, memberships=memberships, roles=roles) if m not in excluded]
    text, message = _subject(subject)
    created = Notification.objects.bulk_create(
        [
            Notification(membership_id=m, kind=kind, subject=text[:240], message=message, url=url[:300], tlp=tlp)
            for m in ids
        ]
    )
    notice_ids = [n.pk for n in created if n.pk is not None]
    if notice_ids and kind in CATEGORY_OF_KIND:
        transaction.on_commit(lambda: enqueue_immediate(notice_ids), robust=True)
    return len(ids)


def notify_agencies(*, kind: str, url: str, subjects: dict[int, str | dict]) -> int:
    """One notice per active member of each agency, each agency its own subject: two queries for any number
    of agencies (the relay tells every receiving inbox of a batch at once)."""
    if not subjects:
        return 0
    members = Membership.objects.filter(
        agency_id__in=list(subjects), is_active=True, user__is_active=True, agency__is_active=True
    ).values_list("id", "agency_id")
    rendered = {agency: _subject(subject) for agency, subject in subjects.items()}
    created = Notification.objects.bulk_create(
        [
            Notification(
                membership_id=m, kind=kind, subject=rendered[a][0][:240], message=rendered[a][1], url=url[:300]
            )
            for m, a in members
        ]
    )
    notice_ids = [n.pk for n in created if n.pk is not None]
    if notice_ids and kind in CATEGORY_OF_KIND:
        transaction.on_commit(lambda: enqueue_immediate(notice_ids), robust=True)
    return len(created)


def mark_read(*, user, notification_id: int | None = None) -> int:
    """Marks one (or, with no id, all) of the user's unread notices as read; returns how many changed."""
    from access import notifications_for

    qs = notifications_for(user).filter(read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(id=notification_id)
    return qs.update(read_at=timezone.now())


# ---------------------------------------------------------------- email


def _wants(mode: str) -> Q:
    """Notices whose owner chose `mode` for the notice's kind (one SQL condition over the profile)."""
    condition = Q()
    for kind, field in CATEGORY_OF_KIND.items():
        condition |= Q(kind=kind, **{f"membership__user__profile__{field}": mode})
    return condition


def _mailable() -> Q:
    return Q(membership__is_active=True, membership__user__is_active=True) & ~Q(membership__user__email="")


def enqueue_immediate(notice_ids: list[int]) -> int:
    """Queues one email task per notice whose owner wants it at once; the sweep catches a lost enqueue."""
    from .tasks import send_notice_email

    wanted = list(
        Notification.objects.filter(_wants(EmailMode.IMMEDIATE), _mailable(), pk__in=notice_ids).values_list(
            "pk", flat=True
        )
    )
    for notice_id in wanted:
        try:
            send_notice_email.delay(notice_id)
        except Exception:  # noqa: BLE001 - broker down: the hourly sweep sends it
            log.warning("email for notice %s not queued; the sweep will send it", notice_id)
    return len(wanted)


def immediate_pending(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Notices of the last day that wanted an immediate email and have none yet (older than a minute)."""
    now = now or timezone.now()
    return list(
        Notification.objects.filter(
            _wants(EmailMode.IMMEDIATE),
            _mailable(),
            created_at__gte=now - timedelta(days=1),
            created_at__lt=now - timedelta(minutes=1),
            emails__isnull=True,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def _claim(key: str, *, user_id: int, notification_id: int | None = None, notices: int = 1) -> EmailRecord | None:
    """The email's idempotency claim: the row, or None when another run has taken (or sent) it."""
    try:
        with transaction.atomic():
            return EmailRecord.objects.create(
                key=key, user_id=user_id, notification_id=notification_id, notices=notices
            )
    except IntegrityError:
        return None


def _send(record: EmailRecord, message: EmailMessage) -> bool:
    """Sends outside any transaction; a failure gives the claim back so that the task's retry sends it."""
    try:
        message.send(fail_silently=False)
    except Exception:
        EmailRecord.objects.filter(pk=record.pk, sent_at__isnull=True).delete()
        raise
    EmailRecord.objects.filter(pk=record.pk).update(sent_at=timezone.now())
    return True


def _language(user) -> str:
    profile = UserProfile.objects.filter(user=user).only("language").first()
    languages = dict(settings.LANGUAGES)
    if profile is not None and profile.language in languages:
        return profile.language
    return settings.LANGUAGE_CODE


def notice_line(notice: Notification) -> dict[str, str]:
    """What an email may say of one notice: its label, its title only under GREEN or CLEAR, and its link."""
    return {
        "tlp": notice.tlp,
        "sentence": str(KIND_SENTENCE.get(notice.kind, _("A new notice is waiting for you."))),
        "title": notice.text if notice.tlp in EMAILABLE_TLPS else "",
        "link": f"{settings.PORTAL_URL}{notice.url or '/notifications/'}",
    }


def notice_email(notice: Notification) -> EmailMessage:
    user = notice.membership.user
    with translation.override(_language(user)):
        line = notice_line(notice)
        label = f"[TLP:{line['tlp']}] " if line["tlp"] else ""
        subject = f"{label}{line['title'] or line['sentence']}"
        body = render_to_string(
            "notifications/email_notice.txt",
            {"line": line, "user": user, "preferences": f"{settings.PORTAL_URL}/account/#preferences"},
        )
    return EmailMessage(subject=subject[:200], body=body, to=[user.email])


def send_notice_email(notice_id: int) -> bool:
    """One immediate email for one notice, at most once: claimed by `notice:<id>` before it is sent."""
    from access import notifications_for

    notice = (
        Notification.objects.filter(_wants(EmailMode.IMMEDIATE), _mailable(), pk=notice_id)
        .select_related("membership__user")
        .first()
    )
    if notice is None:
        return False  # gone, no longer wanted, or the member left
    user = notice.membership.user
    if not notifications_for(user).filter(pk=notice.pk).exists():
        return False  # through the access rule: a notice of a membership that has ended is not sent
    record = _claim(f"notice:{notice.pk}", user_id=user.pk, notification_id=notice.pk)
    if record is None:
        return False
    return _send(record, notice_email(notice))


def member_zone(user_id: int) -> zoneinfo.ZoneInfo:
    """The time zone the member chose on the account page (UTC when none or an unknown one)."""
    name = UserProfile.objects.filter(user_id=user_id).values_list("timezone", flat=True).first()
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def digest_window(day: date, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The member's local `day`, midnight to midnight in their time zone (23 or 25 hours across a DST change)."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    return start, datetime(following.year, following.month, following.day, tzinfo=zone)


def _digest_candidates(since: datetime, until: datetime) -> set[int]:
    return set(
        Notification.objects.filter(_wants(EmailMode.DIGEST), _mailable(), created_at__gte=since, created_at__lt=until)
        .values_list("membership__user_id", flat=True)
        .distinct()
    )


def _digest_done(pairs: Iterable[tuple[int, date]]) -> set[str]:
    keys = [f"digest:{user_id}:{day.isoformat()}" for user_id, day in pairs]
    return set(EmailRecord.objects.filter(key__in=keys).values_list("key", flat=True))


def _has_digest_notices(user_id: int, day: date, zone: tzinfo) -> bool:
    start, end = digest_window(day, zone)
    return Notification.objects.filter(
        _wants(EmailMode.DIGEST), _mailable(), membership__user_id=user_id, created_at__gte=start, created_at__lt=end
    ).exists()


def digest_recipients(day: date) -> list[int]:
    """Users with digest-wanted notices created on their local `day` (in their own time zone) and no digest
    for that day yet."""
    # Every zone's local day lies within UTC day-1 12:00 .. day+1 14:00 (offsets run from -12 to +14 hours).
    utc_start, utc_end = digest_window(day)
    users = _digest_candidates(utc_start - timedelta(hours=14), utc_end + timedelta(hours=12))
    done = _digest_done((user_id, day) for user_id in users)
    return sorted(
        user_id
        for user_id in users
        if f"digest:{user_id}:{day.isoformat()}" not in done and _has_digest_notices(user_id, day, member_zone(user_id))
    )


def digests_due(now: datetime | None = None) -> list[tuple[int, date]]:
    """(user, local day) of every member whose last complete local day has digest notices and no digest yet.

    The beat runs hourly: shortly after midnight in each member's own time zone, their previous day is due.
    """
    now = now or timezone.now()
    users = _digest_candidates(now - timedelta(days=2, hours=2), now)
    pairs = [(user_id, now.astimezone(member_zone(user_id)).date() - timedelta(days=1)) for user_id in sorted(users)]
    done = _digest_done(pairs)
    return [
        (user_id, day)
        for user_id, day in pairs
        if f"digest:{user_id}:{day.isoformat()}" not in done and _has_digest_notices(user_id, day, member_zone(user_id))
    ]


def send_digest(user_id: int, day: date) -> bool:
    """The daily digest of one member for one day of their own time zone, at most once: claimed by
    `digest:<user>:<local day>`."""
    from access import notifications_for

    user = User.objects.filter(pk=user_id, is_active=True).exclude(email="").first()
    if user is None:
        return False
    zone = member_zone(user.pk)
    start, end = digest_window(day, zone)
    notices = list(
        notifications_for(user)
        .filter(_wants(EmailMode.DIGEST), created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")[: MAX_DIGEST_NOTICES + 1]
    )
    if not notices:
        return False
    record = _claim(f"digest:{user.pk}:{day.isoformat()}", user_id=user.pk, notices=len(notices))
    if record is None:
        return False
    with translation.override(_language(user)):
        lines = [notice_line(n) for n in notices[:MAX_DIGEST_NOTICES]]
        subject = str(_("Alliance Exchange: your daily digest for %(day)s (%(count)d)")) % {
            "day": day.isoformat(),
            "count": len(lines),
        }
        body = render_to_string(
            "notifications/email_digest.txt",
            {
                "lines": lines,
                "more": len(notices) > MAX_DIGEST_NOTICES,
                "user": user,
                "day": day,
                "zone": zone.key,
                "notifications": f"{settings.PORTAL_URL}/notifications/",
                "preferences": f"{settings.PORTAL_URL}/account/#preferences",
            },
        )
    return _send(record, EmailMessage(subject=subject, body=body, to=[user.email]))
