"""Real processes: a Celery worker on its own Redis writes email with Django's file backend. The digest task
and the immediate-email task each run twice (as a retry or a duplicate delivery would): one email each."""

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from celery import Celery

from notifications.models import EmailRecord, Notification
from notifications.services import notify
from tests.conftest import Worker

DAY = date(2026, 11, 30)


def _messages(folder: Path) -> list[str]:
    found = []
    for path in folder.glob("*.log"):
        found += [part for part in path.read_text().split("-" * 79) if part.strip()]
    return found


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_digest_and_notice_email_send_once_though_their_tasks_run_twice(cast, mailable, redis_server, tmp_path):
    m, u = cast["memberships"], cast["users"]
    mailable(u["colleague"], alerts="digest")
    mailable(u["author"], alerts="immediate")
    notify(kind="alert", subject="digest item", url="/a/", tlp="GREEN", memberships=[m["colleague"].id])
    Notification.objects.filter(membership=m["colleague"]).update(
        created_at=datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    )
    notify(kind="alert", subject="RED secret", url="/b/", tlp="RED", memberships=[m["author"].id])
    immediate = Notification.objects.get(membership=m["author"])

    mailbox = tmp_path / "mail"
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mailbox),
    }
    worker = Worker(redis_url=redis_server.url, log=tmp_path / "worker.log", extra_env=env).start().wait_ready()
    producer = Celery(broker=redis_server.url)
    try:
        for _ in range(2):
            producer.send_task("notifications.send_digests", args=[DAY.isoformat()])
            producer.send_task("notifications.send_digest", args=[u["colleague"].pk, DAY.isoformat()])
            producer.send_task("notifications.send_notice_email", args=[immediate.pk])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if EmailRecord.objects.filter(sent_at__isnull=False).count() == 2:
                break
            time.sleep(0.3)
        else:
            pytest.fail("emails not sent:\n" + (tmp_path / "worker.log").read_text()[-3000:])
        time.sleep(2)  # a duplicate would be written within this
    finally:
        producer.close()
        worker.stop()

    messages = _messages(mailbox)
    assert len(messages) == 2, messages
    digest = [msg for msg in messages if "antwerp.analyst@example.org" in msg]
    notice = [msg for msg in messages if "antwerp.officer@example.org" in msg]
    assert len(digest) == 1
    assert "digest item" in digest[0]
    assert len(notice) == 1
    assert "RED secret" not in notice[0]
    assert "TLP:RED" in notice[0]
    assert EmailRecord.objects.count() == 2
