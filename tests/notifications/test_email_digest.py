"""The daily digest: one email per member and local day (in their own time zone), for the kinds they chose
as a digest; sent once however often the task runs; TLP rules as for single emails."""

from datetime import UTC, date, datetime, timedelta

from django.core import mail

from notifications.models import EmailRecord, Notification
from notifications.services import digest_recipients, notify, send_digest
from notifications.tasks import send_digests

DAY = date(2026, 11, 30)


def _on(day: date, **kwargs) -> None:
    notify(**kwargs)
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    Notification.objects.filter(created_at__gt=at + timedelta(days=2)).update(created_at=at)


def test_digest_lists_the_day_once_with_the_tlp_rule(cast, mailable):
    m, u = cast["memberships"], cast["users"]
    mailable(u["colleague"], alerts="digest", correlations="digest", deliveries="off", displacement="immediate")
    me = [m["colleague"].id]
    _on(DAY, kind="alert", subject="GREEN title for all", url="/alerts/g/", tlp="GREEN", memberships=me)
    _on(DAY, kind="alert", subject="AMBER secret title", url="/alerts/a/", tlp="AMBER", memberships=me)
    _on(DAY, kind="correlation", subject="Container MSCU1234566 matches", url="/correlations/#1", memberships=me)
    _on(DAY, kind="delivery", subject="3 new suspect scans", url="/inbox/", memberships=me)  # off
    _on(DAY, kind="displacement", subject="NLRTM -> BEANR", url="/trends/", memberships=me)  # immediate
    _on(DAY - timedelta(days=1), kind="alert", subject="the day before", url="/x/", tlp="GREEN", memberships=me)

    assert digest_recipients(DAY) == [u["colleague"].pk]
    assert send_digest(u["colleague"].pk, DAY) is True
    assert send_digest(u["colleague"].pk, DAY) is False  # the second run finds the day claimed
    [email] = mail.outbox
    assert email.to == ["antwerp.analyst@example.org"]
    assert "2026-11-30 (3)" in email.subject
    assert "GREEN title for all" in email.body
    assert "TLP:GREEN" in email.body
    assert "TLP:AMBER" in email.body
    assert "AMBER secret title" not in email.body
    assert "MSCU1234566" not in email.body
    assert "A new correlation notice" in email.body
    assert "suspect scans" not in email.body
    assert "NLRTM" not in email.body
    assert "the day before" not in email.body
    assert digest_recipients(DAY) == []
    assert EmailRecord.objects.get(key=f"digest:{u['colleague'].pk}:{DAY.isoformat()}").sent_at is not None


def test_the_digest_never_holds_another_members_notices(cast, mailable):
    m, u = cast["memberships"], cast["users"]
    mailable(u["colleague"], alerts="digest")
    mailable(u["hamburg_customs"], alerts="digest")
    _on(DAY, kind="alert", subject="for Hamburg only", url="/a/", tlp="GREEN", memberships=[m["hamburg_customs"].id])
    _on(DAY, kind="alert", subject="for Antwerp", url="/b/", tlp="GREEN", memberships=[m["colleague"].id])
    send_digest(u["colleague"].pk, DAY)
    [email] = mail.outbox
    assert "for Antwerp" in email.body
    assert "for Hamburg only" not in email.body


def test_the_beat_task_fans_out_per_member(cast, mailable, settings):
    """Eager here (no broker in this test): the task queues one digest per member who has one due."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from alliance.celery import app

    app.conf.task_always_eager = True
    try:
        m, u = cast["memberships"], cast["users"]
        mailable(u["colleague"], alerts="digest")
        mailable(u["author"], alerts="digest")
        _on(DAY, kind="alert", subject="x", url="/a/", tlp="GREEN", memberships=[m["colleague"].id, m["author"].id])
        assert send_digests(DAY.isoformat()) == 2
        assert send_digests(DAY.isoformat()) == 0
        assert sorted(e.to[0] for e in mail.outbox) == ["antwerp.analyst@example.org", "antwerp.officer@example.org"]
    finally:
        app.conf.task_always_eager = False
