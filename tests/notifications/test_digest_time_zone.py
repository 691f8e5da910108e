"""The daily digest covers the member's own day, in the time zone chosen on the account page, and is claimed
once per member and local day: a member in Tokyo (UTC+9) gets the notices of their 1 December, which began
at 15:00 UTC on 30 November, once their day is over."""

from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.core import mail

from notifications.models import EmailRecord, Notification
from notifications.services import digest_recipients, digest_window, digests_due, member_zone, notify, send_digest
from notifications.tasks import send_digests
from ports.models import UserProfile

pytestmark = pytest.mark.django_db

LOCAL_DAY = date(2026, 12, 1)


def _at(when: datetime, subject: str, membership_id: int) -> None:
    notify(kind="alert", subject=subject, url="/a/", tlp="GREEN", memberships=[membership_id])
    Notification.objects.filter(subject=subject).update(created_at=when)


@pytest.fixture
def tokyo(cast, mailable):
    user = cast["users"]["colleague"]
    mailable(user, alerts="digest")
    UserProfile.objects.filter(user=user).update(timezone="Asia/Tokyo")
    me = cast["memberships"]["colleague"].id
    _at(datetime(2026, 11, 30, 14, 30, tzinfo=UTC), "Tokyo 30 November, 23:30", me)
    _at(datetime(2026, 11, 30, 15, 30, tzinfo=UTC), "Tokyo 1 December, 00:30", me)
    _at(datetime(2026, 12, 1, 14, 30, tzinfo=UTC), "Tokyo 1 December, 23:30", me)
    _at(datetime(2026, 12, 1, 15, 30, tzinfo=UTC), "Tokyo 2 December, 00:30", me)
    return user


def test_the_window_is_the_members_midnight_to_midnight(tokyo):
    start, end = digest_window(LOCAL_DAY, member_zone(tokyo.pk))
    assert (start, end) == (datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2026, 12, 1, 15, tzinfo=UTC))


def test_the_digest_holds_the_local_day_and_is_sent_once(tokyo):
    assert digest_recipients(LOCAL_DAY) == [tokyo.pk]
    assert send_digest(tokyo.pk, LOCAL_DAY) is True
    assert send_digest(tokyo.pk, LOCAL_DAY) is False
    [email] = mail.outbox
    assert "2026-12-01 (2)" in email.subject
    assert "Tokyo 1 December, 00:30" in email.body
    assert "Tokyo 1 December, 23:30" in email.body
    assert "30 November" not in email.body
    assert "2 December" not in email.body
    assert EmailRecord.objects.filter(key=f"digest:{tokyo.pk}:2026-12-01", sent_at__isnull=False).count() == 1
    assert digest_recipients(LOCAL_DAY) == []


def test_the_beat_claims_the_local_day_once_it_is_over(tokyo, settings):
    # 23:00 in Tokyo on 1 December: their 30 November is due (one notice), 1 December is not over yet.
    assert digests_due(datetime(2026, 12, 1, 14, 0, tzinfo=UTC)) == [(tokyo.pk, date(2026, 11, 30))]
    # 01:00 in Tokyo on 2 December (still 1 December in UTC): their 1 December is due.
    assert digests_due(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == [(tokyo.pk, LOCAL_DAY)]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from alliance.celery import app

    app.conf.task_always_eager = True
    try:
        # The hourly beat, as it runs at that moment (the clock is the only thing stood in for).
        with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 12, 1, 16, tzinfo=UTC)):
            assert send_digests() == 1
            assert send_digests() == 0  # claimed: the hourly beat never sends that day again
    finally:
        app.conf.task_always_eager = False
    [email] = mail.outbox
    assert "2026-12-01 (2)" in email.subject


def test_a_member_in_brussels_keeps_the_brussels_day(cast, mailable):
    """The default zone of the account page: 23:30 UTC on 30 November is already 1 December in Brussels."""
    user = cast["users"]["author"]
    mailable(user, alerts="digest")
    _at(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Brussels 1 December, 00:30", cast["memberships"]["author"].id)
    assert member_zone(user.pk).key == "Europe/Brussels"
    assert digest_recipients(date(2026, 11, 30)) == []
    assert digest_recipients(LOCAL_DAY) == [user.pk]
