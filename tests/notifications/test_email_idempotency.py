"""An email is claimed before it is sent: a duplicate run sends nothing, a failed send gives the claim back
so that the retry sends it, once."""

import pytest
from django.core import mail

from notifications import services
from notifications.models import EmailRecord, Notification
from notifications.services import notify, send_notice_email


@pytest.fixture
def notice(cast, mailable):
    m, u = cast["memberships"], cast["users"]
    mailable(u["colleague"], alerts="immediate")
    notify(kind="alert", subject="GREEN news", url="/alerts/x/", tlp="GREEN", memberships=[m["colleague"].id])
    return Notification.objects.get()


def test_twice_sends_once(notice):
    assert send_notice_email(notice.pk) is True
    assert send_notice_email(notice.pk) is False
    assert len(mail.outbox) == 1
    assert EmailRecord.objects.get(key=f"notice:{notice.pk}").sent_at is not None


def test_a_failed_send_is_retried_and_sent_once(notice, settings):
    settings.EMAIL_BACKEND = "tests.notifications.failing_backend.FailingOnceBackend"
    with pytest.raises(OSError, match="unexpectedly closed"):
        send_notice_email(notice.pk)
    assert not EmailRecord.objects.exists()  # the claim is given back
    assert send_notice_email(notice.pk) is True  # the task's retry
    assert send_notice_email(notice.pk) is False
    from tests.notifications.failing_backend import SENT

    assert len(SENT) == 1


def test_the_sweep_finds_notices_whose_enqueue_was_lost(notice):
    from datetime import timedelta

    from django.utils import timezone

    Notification.objects.filter(pk=notice.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.immediate_pending() == [notice.pk]
    send_notice_email(notice.pk)
    assert services.immediate_pending() == []
